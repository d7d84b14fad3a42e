"""Input and output of the audio plugin. manifest.py re-exports these; Mixpeek reads them from there."""

from pydantic import BaseModel, Field

from processors.media import MediaInput

WAV_MIME_TYPES = ["audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"]

# Rows holding WAV audio are sent to this plugin.
ROW_CONDITIONS = [{"field": "mime_type", "operator": "in", "value": WAV_MIME_TYPES}]


class InputSchema(MediaInput):
    """One PCM WAV file, base64-encoded."""

    mime_type: str = Field(
        ..., pattern=r"^audio/(x-)?wave?$|^audio/vnd\.wave$", description="MIME type of the file, e.g. audio/wav."
    )


class OutputSchema(BaseModel):
    """Format facts from the RIFF header and loudness from the samples."""

    sample_rate: int = Field(..., gt=0, description="Frames per second (Hz).")
    channels: int = Field(..., ge=1, description="Number of channels (1 mono, 2 stereo, ...).")
    bits_per_sample: int = Field(..., description="Bits per sample: 8 or 16.")
    frame_count: int = Field(..., ge=0, description="Number of sample frames in the data chunk.")
    duration_seconds: float = Field(..., ge=0.0, description="frame_count / sample_rate.")
    rms: float = Field(
        ..., ge=0.0, le=1.0, description="Root mean square level over all samples, as a fraction of full scale."
    )
    peak: float = Field(..., ge=0.0, le=1.0, description="Largest absolute sample, as a fraction of full scale.")
