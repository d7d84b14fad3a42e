"""Input and output of the video plugin. manifest.py re-exports these; Mixpeek reads them from there."""

from typing import List, Literal, Optional

from pydantic import BaseModel, Field

from processors.media import MediaInput

CONTAINER_MIME_TYPES = ["video/mp4", "video/quicktime", "video/webm", "video/x-matroska"]

# Rows holding an MP4, MOV, WebM or Matroska file are sent to this plugin.
ROW_CONDITIONS = [{"field": "mime_type", "operator": "in", "value": CONTAINER_MIME_TYPES}]


class InputSchema(MediaInput):
    """One video file, base64-encoded."""

    mime_type: str = Field(..., pattern=r"^video/[\w.+-]+$", description="MIME type of the file, e.g. video/mp4.")


class OutputSchema(BaseModel):
    """Container facts read from the file structure, without decoding any frame."""

    format: Literal["mp4", "mov", "webm", "matroska", "unknown"] = Field(..., description="Container format.")
    brand: Optional[str] = Field(
        None, description="ISO-BMFF major brand (e.g. 'isom', 'qt  ') or the EBML DocType ('webm', 'matroska')."
    )
    compatible_brands: List[str] = Field(default_factory=list, description="ISO-BMFF compatible brands, if any.")
    duration_seconds: Optional[float] = Field(None, ge=0.0, description="Duration from the movie header, if present.")
    track_count: int = Field(..., ge=0, description="Number of tracks (trak boxes or Matroska TrackEntry elements).")
    byte_size: int = Field(..., ge=1, description="Size of the file in bytes.")
