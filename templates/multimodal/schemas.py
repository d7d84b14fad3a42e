"""Input and output of the multimodal plugin. manifest.py re-exports these; Mixpeek reads them from there."""

from typing import Literal, Optional

from pydantic import BaseModel, Field, model_validator

from processors.media import MediaInput

# Every row with a MIME type is sent to this plugin; it routes by that type.
ROW_CONDITIONS = [{"field": "mime_type", "operator": "exists", "value": True}]


class InputSchema(MediaInput):
    """One item of any type: inline `text`, or a file in `data_base64`."""

    data_base64: Optional[str] = Field(
        None, min_length=1, description="The file's bytes, base64-encoded. Give this or `text`, not both."
    )
    text: Optional[str] = Field(None, description="Inline text (mime_type text/*). Give this or `data_base64`.")

    @model_validator(mode="after")
    def _one_payload(self):
        if (self.text is None) == (self.data_base64 is None):
            raise ValueError("give exactly one of `text` and `data_base64`")
        return self


class OutputSchema(BaseModel):
    """Fields every item gets, plus the ones its modality adds (null elsewhere)."""

    modality: Literal["text", "image", "audio", "other"] = Field(..., description="Route chosen from the MIME type.")
    byte_size: int = Field(..., ge=0, description="Size of the payload in bytes (text: UTF-8).")
    sha256: str = Field(..., pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the payload, hex.")
    word_count: Optional[int] = Field(None, ge=0, description="text: whitespace-separated words.")
    distinct_words: Optional[int] = Field(None, ge=0, description="text: distinct words, case-insensitive.")
    image_format: Optional[str] = Field(None, description="image: png, gif, bmp or jpeg when recognised.")
    width: Optional[int] = Field(None, ge=0, description="image: width in pixels.")
    height: Optional[int] = Field(None, ge=0, description="image: height in pixels.")
    duration_seconds: Optional[float] = Field(None, ge=0.0, description="audio (WAV): length in seconds.")
    sample_rate: Optional[int] = Field(None, gt=0, description="audio (WAV): frames per second.")
    channels: Optional[int] = Field(None, ge=1, description="audio (WAV): channel count.")
