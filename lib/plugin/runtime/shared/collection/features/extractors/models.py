"""shared.collection.features.extractors.models (local platform runtime).

`ExtractorDefinition` is how a plugin's pipeline.py tells the engine where its build_steps() is (Mixpeek's
original template ends pipeline.py with `extractor_definition = ExtractorDefinition(...)`).
`ExtractorConfig` and `ExtractorRequest` are the request build_steps() receives: the collection's
feature-extractor settings, with `extractor_config.parameters` holding the collection's parameters.
"""

from typing import Any, Callable, Dict, Optional, Union

__all__ = ["ExtractorConfig", "ExtractorDefinition", "ExtractorRequest"]


class ExtractorDefinition:
    """A feature extractor as the engine discovers it: name, version and the function that builds its steps."""

    def __init__(
        self,
        name: str,
        version: str,
        extractor_function_path: Union[Callable[..., Any], str, None] = None,
        requires_file_resolution: bool = False,
        description: Optional[str] = None,
        **fields: Any
    ):
        if not isinstance(name, str) or not name:
            raise ValueError("ExtractorDefinition(name=...) must be a non-empty string, got %r" % (name,))
        if not isinstance(version, str) or not version:
            raise ValueError("ExtractorDefinition(version=...) must be a non-empty string, got %r" % (version,))
        if extractor_function_path is not None and not (
            callable(extractor_function_path) or isinstance(extractor_function_path, str)
        ):
            raise TypeError(
                "ExtractorDefinition(extractor_function_path=...) must be build_steps (or its dotted path), "
                "got %r" % (extractor_function_path,)
            )
        self.name = name
        self.version = version
        self.extractor_function_path = extractor_function_path
        self.requires_file_resolution = bool(requires_file_resolution)
        self.description = description
        self.fields = dict(fields)

    def __repr__(self):
        return "ExtractorDefinition(%r, %r)" % (self.name, self.version)


class ExtractorConfig:
    """A collection's feature_extractor block: name, version, parameters and input mappings."""

    def __init__(
        self,
        feature_extractor_name: str = "",
        version: str = "",
        parameters: Optional[Dict[str, Any]] = None,
        input_mappings: Optional[Dict[str, Any]] = None,
        field_passthrough: Optional[list] = None,
    ):
        self.feature_extractor_name = feature_extractor_name
        self.version = version
        self.parameters = dict(parameters or {})
        self.input_mappings = dict(input_mappings or {})
        self.field_passthrough = list(field_passthrough or [])

    def __repr__(self):
        return "ExtractorConfig(%r, %r, parameters=%r)" % (self.feature_extractor_name, self.version, self.parameters)


class ExtractorRequest:
    """What build_steps(extractor_request, ...) receives."""

    def __init__(
        self,
        extractor_config: ExtractorConfig,
        namespace_id: str = "ns_local",
        collection_id: str = "col_local",
        batch_id: str = "btch_local",
        feature_extractor_id: Optional[str] = None,
    ):
        self.extractor_config = extractor_config
        self.namespace_id = namespace_id
        self.collection_id = collection_id
        self.batch_id = batch_id
        self.feature_extractor_id = feature_extractor_id or "%s_%s" % (
            extractor_config.feature_extractor_name, str(extractor_config.version).replace(".", "_")
        )

    def __repr__(self):
        return "ExtractorRequest(%r)" % (self.extractor_config,)
