"""Input fields shared by the media templates: the file arrives base64-encoded with its MIME type.

Text plugins do not use this module; it is safe to delete there.
"""

import base64
import binascii
from typing import Any, Dict, Optional

from pydantic import BaseModel, Field, field_validator


class MediaInput(BaseModel):
    """A file sent inline. Subclasses narrow `mime_type` with a pattern for the types they handle."""

    data_base64: str = Field(
        ...,
        min_length=1,
        description="The file's bytes, base64-encoded (standard alphabet; whitespace and missing padding tolerated).",
    )
    mime_type: str = Field(..., max_length=255, description="MIME type of the file, e.g. image/png.")
    filename: Optional[str] = Field(None, max_length=255, description="Original file name, if known (informational).")

    @field_validator("data_base64")
    @classmethod
    def _check_base64(cls, value: Optional[str]) -> Optional[str]:
        if value is None:
            return value
        compact = "".join(value.split())
        compact += "=" * (-len(compact) % 4)
        try:
            base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("data_base64 is not valid base64") from exc
        return compact

    @field_validator("mime_type", mode="before")
    @classmethod
    def _normalise_mime_type(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


def media_bytes(data: Dict[str, Any]) -> bytes:
    """The decoded file bytes of a validated record (steps keep the base64 text, so data stays JSON-friendly)."""
    return base64.b64decode(data["data_base64"])
