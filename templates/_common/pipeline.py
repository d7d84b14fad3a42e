"""The batch pipeline of {{title}}: Mixpeek calls build_steps() once per batch job.

The framework does the rest: it batches the rows ({{batch_size}} at a time on {{resource_type}} workers, or
compute_profile's batch_size), builds {{class_name}}Processor once per worker, and gives it only the rows the
step's RowCondition matches; the other rows pass through unchanged.
"""

from typing import Any, Dict, Optional

from engine.plugins.extractors.pipeline import (
    PipelineDefinition,
    ResourceType,
    RowCondition,
    StepDefinition,
    build_pipeline_steps,
)
from shared.collection.features.extractors.models import ExtractorDefinition

from .manifest import {{class_name}}Params, metadata
from .processors.core import {{class_name}}Config, {{class_name}}Processor


def build_steps(
    extractor_request: Any,
    container: Optional[Any] = None,
    base_steps: Optional[list] = None,
    dataset_size: Optional[int] = None,
    content_flags: Optional[dict] = None,
) -> Dict[str, Any]:
    """The steps for one collection: its parameters are in extractor_request.extractor_config.parameters."""
    params = {{class_name}}Params(**(extractor_request.extractor_config.parameters or {}))
    steps = [
        StepDefinition(
            service_class={{class_name}}Processor,
            resource_type=ResourceType.{{resource_enum}},
            config={{class_name}}Config.from_params(params),
            condition=RowCondition.{{row_condition}},
        ),
    ]
    pipeline = PipelineDefinition(
        name=metadata["feature_extractor_name"],
        version=metadata["version"],
        steps=steps,
    )
    return {
        "steps": (base_steps or []) + build_pipeline_steps(pipeline, dataset_size=dataset_size),
        "prepare": prepare,
    }


def prepare(ds):
    """Runs once on the whole dataset before the steps: filter or reshape it here (same rows in, same out)."""
    return ds


# How the engine finds this plugin's pipeline.
extractor_definition = ExtractorDefinition(
    name=metadata["feature_extractor_name"],
    version=metadata["version"],
    extractor_function_path=build_steps,
    requires_file_resolution=False,
)
