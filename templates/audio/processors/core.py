"""{{class_name}}Processor: format and levels of each WAV file, with the standard library only.

The RIFF chunks are walked with struct: `fmt ` gives the format, `data` the samples (8-bit unsigned or
16-bit signed little-endian, any channel count; WAVE_FORMAT_EXTENSIBLE with a PCM sub-format is accepted).
Levels are computed over every sample of every channel. Add a GPU step (Whisper, CLAP) for speech or
audio embeddings.
"""

import math
import struct
import sys
from array import array
from dataclasses import dataclass
from typing import Any, Dict, Iterator, Tuple

import pandas as pd

from .media import add_columns, read_bytes

WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_EXTENSIBLE = 0xFFFE


def iter_riff_chunks(raw: bytes) -> Iterator[Tuple[bytes, int, int]]:
    """Yield (chunk id, offset of its body, body length) for each chunk of a RIFF/WAVE file."""
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    pos = 12
    while pos + 8 <= len(raw):
        chunk_id, size = struct.unpack_from("<4sI", raw, pos)
        body = pos + 8
        yield chunk_id, body, min(size, len(raw) - body)  # streamed files may overstate the last size
        pos = body + size + (size & 1)  # bodies are padded to an even length


def read_wav(raw: bytes) -> Dict[str, int]:
    """Format fields plus where the samples are: data_offset and data_length (whole frames only)."""
    fmt = None
    for chunk_id, body, length in iter_riff_chunks(raw):
        if chunk_id == b"fmt ":
            if length < 16:
                raise ValueError("WAV fmt chunk is too short")
            fmt = struct.unpack_from("<HHIIHH", raw, body)
            if fmt[0] == WAVE_FORMAT_EXTENSIBLE and length >= 26:
                (sub_format,) = struct.unpack_from("<H", raw, body + 24)
                fmt = (sub_format,) + fmt[1:]
        elif chunk_id == b"data":
            if fmt is None:
                raise ValueError("WAV data chunk comes before its fmt chunk")
            audio_format, channels, sample_rate, _byte_rate, block_align, bits = fmt
            if audio_format != WAVE_FORMAT_PCM or bits not in (8, 16):
                raise ValueError(f"only 8- and 16-bit PCM WAV is supported (format {audio_format}, {bits}-bit)")
            if not channels or not sample_rate or block_align != channels * bits // 8:
                raise ValueError("WAV fmt chunk is inconsistent")
            frames = length // block_align
            return {
                "sample_rate": sample_rate,
                "channels": channels,
                "bits_per_sample": bits,
                "frame_count": frames,
                "data_offset": body,
                "data_length": frames * block_align,
            }
    raise ValueError("WAV file has no data chunk")


def levels(pcm: bytes, bits: int) -> Tuple[float, float]:
    """(rms, peak) of interleaved PCM samples, as fractions of full scale."""
    if bits == 8:
        samples = [value - 128 for value in pcm]
        full_scale = 128
    else:
        samples = array("h", pcm)
        if sys.byteorder == "big":
            samples.byteswap()
        full_scale = 32768
    if not samples:
        return 0.0, 0.0
    rms = math.sqrt(sum(value * value for value in samples) / len(samples)) / full_scale
    peak = max(max(samples), -min(samples)) / full_scale
    return round(min(rms, 1.0), 6), round(min(peak, 1.0), 6)


def describe_wav(raw: bytes, silence_threshold: float) -> Dict[str, Any]:
    info = read_wav(raw)
    start = info.pop("data_offset")
    rms, peak = levels(raw[start:start + info.pop("data_length")], info["bits_per_sample"])
    info.update(
        duration_seconds=round(info["frame_count"] / info["sample_rate"], 6),
        rms=rms,
        peak=peak,
        is_silent=peak < silence_threshold,
    )
    return info


@dataclass
class {{class_name}}Config:
    """What the processor needs from the collection's parameters."""

    silence_threshold: float = 0.01

    @classmethod
    def from_params(cls, params):
        return cls(silence_threshold=params.silence_threshold)


class {{class_name}}Processor:
    """Built once per worker; called once per batch of audio rows (their URLs are in the data column)."""

    def __init__(self, config: {{class_name}}Config, progress_actor=None):
        self.config = config
        self.progress_actor = progress_actor

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        threshold = self.config.silence_threshold
        return add_columns(batch, [describe_wav(read_bytes(url, ".wav"), threshold) for url in batch["data"]])
