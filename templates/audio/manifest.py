"""What {{title}} takes, what it gives and how Mixpeek runs it: Mixpeek reads this module at upload."""

from pydantic import BaseModel, ConfigDict, Field


class {{class_name}}Input(BaseModel):
    """One recording: Mixpeek puts its URL in the batch's data column."""

    audio_url: str = Field(..., description="URL of a PCM WAV file (8- or 16-bit)")


class {{class_name}}Output(BaseModel):
    """What each audio row gains."""

    sample_rate: int = Field(..., ge=1, description="Samples per second")
    channels: int = Field(..., ge=1, description="Number of channels")
    bits_per_sample: int = Field(..., description="8 or 16")
    frame_count: int = Field(..., ge=0, description="Samples per channel")
    duration_seconds: float = Field(..., ge=0, description="Length of the recording")
    rms: float = Field(..., ge=0, le=1, description="Root mean square level, as a fraction of full scale")
    peak: float = Field(..., ge=0, le=1, description="Peak level, as a fraction of full scale")
    is_silent: bool = Field(..., description="The peak is under the silence_threshold parameter")


class {{class_name}}Params(BaseModel):
    """Parameters a collection can set for this extractor."""

    model_config = ConfigDict(extra="forbid")

    silence_threshold: float = Field(default=0.01, ge=0, le=1, description="Peak level under which it is silent")


metadata = {
    "feature_extractor_name": "{{name}}",
    "version": "{{version}}",
    "description": "{{description}}",
    "category": "audio",
    "icon": "music",
    "author": "{{author}}",
}

input_schema = {{class_name}}Input
output_schema = {{class_name}}Output
parameter_schema = {{class_name}}Params
supported_input_types = ["audio"]

# No vector index: add {"feature_type": "embedding", ...} entries here when a step computes embeddings.
features = []

compute_profile = {
    "resource_type": "{{resource_type}}",
    "batch_size": {{batch_size}},
    "max_concurrency": 2,
    "actor_memory_gb": 2.0,
}

dependencies = []
