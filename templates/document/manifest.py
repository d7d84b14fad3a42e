"""What {{title}} takes, what it gives and how Mixpeek runs it: Mixpeek reads this module at upload."""

from pydantic import BaseModel, ConfigDict, Field


class {{class_name}}Input(BaseModel):
    """One PDF: Mixpeek puts its URL in the batch's data column."""

    document_url: str = Field(..., description="URL of the PDF")


class {{class_name}}Output(BaseModel):
    """What each PDF row gains."""

    page_count: int = Field(..., ge=0, description="Number of pages")
    text: str = Field(..., description="The text the PDF shows (the first max_text_chars characters)")
    char_count: int = Field(..., ge=0, description="Length of the whole text")
    word_count: int = Field(..., ge=0, description="Words in the whole text")
    line_count: int = Field(..., ge=0, description="Non-empty lines in the whole text")


class {{class_name}}Params(BaseModel):
    """Parameters a collection can set for this extractor."""

    model_config = ConfigDict(extra="forbid")

    max_text_chars: int = Field(default=2000, ge=0, le=1_000_000, description="How much text each row keeps")


metadata = {
    "feature_extractor_name": "{{name}}",
    "version": "{{version}}",
    "description": "{{description}}",
    "category": "document",
    "icon": "file-text",
    "author": "{{author}}",
}

input_schema = {{class_name}}Input
output_schema = {{class_name}}Output
parameter_schema = {{class_name}}Params
supported_input_types = ["pdf"]

# No vector index: add {"feature_type": "embedding", ...} entries here when a step computes embeddings.
features = []

compute_profile = {
    "resource_type": "{{resource_type}}",
    "batch_size": {{batch_size}},
    "max_concurrency": 2,
    "actor_memory_gb": 2.0,
}

dependencies = []
