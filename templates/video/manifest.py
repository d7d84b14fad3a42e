"""What {{title}} takes, what it gives and how Mixpeek runs it: Mixpeek reads this module at upload."""

from typing import List, Optional

from pydantic import BaseModel, ConfigDict, Field


class {{class_name}}Input(BaseModel):
    """One video: Mixpeek puts its URL in the batch's data column."""

    video_url: str = Field(..., description="URL of the video (MP4, MOV, WebM, Matroska)")


class {{class_name}}Output(BaseModel):
    """What each video row gains."""

    format: str = Field(..., description="mp4, mov, webm, matroska or unknown")
    brand: Optional[str] = Field(None, description="The major brand (MP4/MOV) or DocType (WebM/Matroska)")
    compatible_brands: List[str] = Field(default_factory=list, description="MP4 compatible brands")
    duration_seconds: Optional[float] = Field(None, ge=0, description="Duration, when the container says")
    track_count: int = Field(..., ge=0, description="Number of tracks (video, audio, subtitles, ...)")
    byte_size: int = Field(..., ge=0, description="Size of the file")


class {{class_name}}Params(BaseModel):
    """Parameters a collection can set for this extractor."""

    model_config = ConfigDict(extra="forbid")

    max_megabytes: int = Field(default=512, ge=1, le=16384, description="Largest file read, in MiB")


metadata = {
    "feature_extractor_name": "{{name}}",
    "version": "{{version}}",
    "description": "{{description}}",
    "category": "video",
    "icon": "film",
    "author": "{{author}}",
}

input_schema = {{class_name}}Input
output_schema = {{class_name}}Output
parameter_schema = {{class_name}}Params
supported_input_types = ["video"]

# No vector index: add {"feature_type": "embedding", ...} entries here when a step computes embeddings.
features = []

compute_profile = {
    "resource_type": "{{resource_type}}",
    "batch_size": {{batch_size}},
    "max_concurrency": 2,
    "actor_memory_gb": 2.0,
}

dependencies = []
