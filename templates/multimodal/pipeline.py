"""The batch pipeline of {{title}}: two steps, each on its own rows; Mixpeek calls build_steps() once per job.

The framework batches the rows ({{batch_size}} at a time on {{resource_type}} workers, or compute_profile's
batch_size), builds each processor once per worker, and gives it only the rows its RowCondition matches:
text rows to the first step, image rows to the second. Other rows pass both steps unchanged.
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
from .processors.core import {{class_name}}Config, {{class_name}}ImageProcessor, {{class_name}}TextProcessor


def build_steps(
    extractor_request: Any,
    container: Optional[Any] = None,
    base_steps: Optional[list] = None,
    dataset_size: Optional[int] = None,
    content_flags: Optional[dict] = None,
) -> Dict[str, Any]:
    """The steps for one collection: its parameters are in extractor_request.extractor_config.parameters."""
    params = {{class_name}}Params(**(extractor_request.extractor_config.parameters or {}))
    config = {{class_name}}Config.from_params(params)
    text_step = StepDefinition(
        service_class={{class_name}}TextProcessor,
        resource_type=ResourceType.{{resource_enum}},
        config=config,
        condition=RowCondition.IS_TEXT,
    )
    image_step = StepDefinition(
        service_class={{class_name}}ImageProcessor,
        resource_type=ResourceType.{{resource_enum}},
        config=config,
        condition=RowCondition.IS_IMAGE,
    )
    pipeline = PipelineDefinition(metadata["feature_extractor_name"], metadata["version"], [text_step, image_step])
    return {
        "steps": (base_steps or []) + build_pipeline_steps(pipeline, dataset_size=dataset_size),
        "prepare": lambda ds: ds,
    }


# How the engine finds this plugin's pipeline.
extractor_definition = ExtractorDefinition(
    name=metadata["feature_extractor_name"],
    version=metadata["version"],
    extractor_function_path=build_steps,
    requires_file_resolution=False,
)
