"""What {{title}} takes, what it gives and how Mixpeek runs it: Mixpeek reads this module at upload."""

from typing import List

from pydantic import BaseModel, ConfigDict, Field

COLOR_BINS = 4  # per channel: 4 x 4 x 4 colour cells
EMBEDDING_DIM = COLOR_BINS ** 3


class {{class_name}}Input(BaseModel):
    """One image: Mixpeek puts its URL in the batch's data column."""

    image_url: str = Field(..., description="URL of the image (PNG, JPEG, GIF, WebP, ...)")


class {{class_name}}Output(BaseModel):
    """What each image row gains."""

    {{name}}_embedding: List[float] = Field(
        ..., min_length=EMBEDDING_DIM, max_length=EMBEDDING_DIM, description="Colour histogram embedding"
    )
    width: int = Field(..., ge=1, description="Width in pixels")
    height: int = Field(..., ge=1, description="Height in pixels")
    image_format: str = Field(..., description="File format as Pillow reads it (PNG, JPEG, ...)")
    brightness: float = Field(..., ge=0.0, le=1.0, description="Mean luminance, 0 (black) to 1 (white)")


class {{class_name}}Params(BaseModel):
    """Parameters a collection can set for this extractor."""

    model_config = ConfigDict(extra="forbid")

    thumbnail: int = Field(default=64, ge=8, le=1024, description="Longest side sampled for the histogram")


metadata = {
    "feature_extractor_name": "{{name}}",
    "version": "{{version}}",
    "description": "{{description}}",
    "category": "image",
    "icon": "image",
    "author": "{{author}}",
}

input_schema = {{class_name}}Input
output_schema = {{class_name}}Output
parameter_schema = {{class_name}}Params
supported_input_types = ["image"]

# One vector index: these four key names exactly (others are ignored, and nothing gets indexed).
features = [
    {
        "feature_type": "embedding",
        "feature_name": "{{name}}_embedding",
        "embedding_dim": EMBEDDING_DIM,
        "distance_metric": "cosine",
    },
]

compute_profile = {
    "resource_type": "{{resource_type}}",
    "batch_size": {{batch_size}},
    "max_concurrency": 2,
    "actor_memory_gb": 2.0,
}

dependencies = ["pillow>=9"]
