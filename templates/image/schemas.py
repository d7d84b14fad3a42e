"""Input and output of the image plugin. manifest.py re-exports these; Mixpeek reads them from there."""

from typing import Annotated, List, Literal, Optional

from pydantic import BaseModel, Field

from processors.media import MediaInput

# Rows whose MIME type is an image are sent to this plugin.
ROW_CONDITIONS = [{"field": "mime_type", "operator": "startswith", "value": "image/"}]

Channel = Annotated[int, Field(ge=0, le=255)]


class InputSchema(MediaInput):
    """One image file, base64-encoded."""

    mime_type: str = Field(..., pattern=r"^image/[\w.+-]+$", description="MIME type of the image, e.g. image/png.")


class OutputSchema(BaseModel):
    """What the header tells (any supported format) and what the pixels tell (PNG)."""

    format: Literal["png", "gif", "jpeg", "bmp", "unknown"] = Field(..., description="Format found in the bytes.")
    width: Optional[int] = Field(None, ge=1, description="Width in pixels; null for an unknown format.")
    height: Optional[int] = Field(None, ge=1, description="Height in pixels; null for an unknown format.")
    byte_size: int = Field(..., ge=1, description="Size of the file in bytes.")
    decoded: bool = Field(..., description="True when the pixels were decoded (8-bit, non-interlaced PNG).")
    mean_color: Optional[List[Channel]] = Field(
        None, min_length=3, max_length=3, description="Mean [red, green, blue] over all pixels, when decoded."
    )
    brightness: Optional[float] = Field(
        None, ge=0.0, le=1.0, description="Rec. 601 luma of the mean colour, 0 (black) to 1 (white), when decoded."
    )
