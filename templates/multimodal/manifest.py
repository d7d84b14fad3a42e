"""What {{title}} takes, what it gives and how Mixpeek runs it: Mixpeek reads this module at upload."""

from typing import List, Optional

from pydantic import BaseModel, ConfigDict, Field

COLOR_BINS = 4  # per channel: the image vector has 4 x 4 x 4 cells
EMBEDDING_DIM = COLOR_BINS ** 3  # text vectors use the same size, so both fit one vector index


class {{class_name}}Input(BaseModel):
    """One text or one image: Mixpeek puts the text, or the image's URL, in the batch's data column."""

    text: Optional[str] = Field(None, description="A text to embed")
    image_url: Optional[str] = Field(None, description="URL of an image to embed")


class {{class_name}}Output(BaseModel):
    """What each row gains."""

    {{name}}_embedding: List[float] = Field(
        ..., min_length=EMBEDDING_DIM, max_length=EMBEDDING_DIM, description="Text n-gram or image colour vector"
    )
    modality: str = Field(..., description="text or image: which processor embedded the row")


class {{class_name}}Params(BaseModel):
    """Parameters a collection can set for this extractor."""

    model_config = ConfigDict(extra="forbid")

    ngram: int = Field(default=3, ge=1, le=5, description="Length of the character n-grams of texts")
    thumbnail: int = Field(default=64, ge=8, le=1024, description="Longest side sampled for image histograms")


metadata = {
    "feature_extractor_name": "{{name}}",
    "version": "{{version}}",
    "description": "{{description}}",
    "category": "multimodal",
    "icon": "layers",
    "author": "{{author}}",
}

input_schema = {{class_name}}Input
output_schema = {{class_name}}Output
parameter_schema = {{class_name}}Params
supported_input_types = ["text", "image"]

# One vector index for both kinds of rows: these four key names exactly (others are ignored).
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
