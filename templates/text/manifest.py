"""What {{title}} takes, what it gives and how Mixpeek runs it: Mixpeek reads this module at upload."""

from typing import List

from pydantic import BaseModel, ConfigDict, Field

EMBEDDING_DIM = 128


class {{class_name}}Input(BaseModel):
    """One text: the collection maps it to the batch's data column."""

    text: str = Field(..., min_length=1, description="The text to embed")


class {{class_name}}Output(BaseModel):
    """What each row gains."""

    {{name}}_embedding: List[float] = Field(
        ..., min_length=EMBEDDING_DIM, max_length=EMBEDDING_DIM, description="Hashed character n-gram embedding"
    )
    token_count: int = Field(..., ge=0, description="Number of words in the text")


class {{class_name}}Params(BaseModel):
    """Parameters a collection can set for this extractor."""

    model_config = ConfigDict(extra="forbid")

    ngram: int = Field(default=3, ge=1, le=5, description="Length of the character n-grams")
    lowercase: bool = Field(default=True, description="Fold case before hashing")


metadata = {
    "feature_extractor_name": "{{name}}",
    "version": "{{version}}",
    "description": "{{description}}",
    "category": "text",
    "icon": "type",
    "author": "{{author}}",
}

input_schema = {{class_name}}Input
output_schema = {{class_name}}Output
parameter_schema = {{class_name}}Params
supported_input_types = ["text"]

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

dependencies = []
