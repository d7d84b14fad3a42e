"""Route each item by MIME type to a small feature function, with the standard library only.

text/*            -> word counts            image/* -> format and dimensions from the header
WAV audio         -> duration via `wave`     anything else -> size and SHA-256 only (every item gets these)
Add a modality: write `features(raw: bytes) -> dict` returning OutputSchema fields, and register it in FEATURES.
"""

import hashlib
import io
import struct
import wave
from typing import Any, Callable, Dict, Optional, Tuple

from processors.media import media_bytes

WAV_TYPES = frozenset(["audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"])
# magic bytes -> (format, struct layout of width and height, where they start)
IMAGE_HEADERS = {
    b"\x89PNG\r\n\x1a\n": ("png", ">II", 16),
    b"GIF87a": ("gif", "<HH", 6),
    b"GIF89a": ("gif", "<HH", 6),
    b"BM": ("bmp", "<ii", 18),
}


def route(mime_type: str) -> str:
    family = mime_type.partition("/")[0]
    if family in ("text", "image"):
        return family
    return "audio" if mime_type in WAV_TYPES else "other"


def payload(data: Dict[str, Any]) -> bytes:
    """The item's bytes: inline text as UTF-8, otherwise the decoded file."""
    return data["text"].encode("utf-8") if data.get("text") is not None else media_bytes(data)


def text_features(raw: bytes) -> Dict[str, Any]:
    words = raw.decode("utf-8", errors="replace").split()
    return {"word_count": len(words), "distinct_words": len({word.casefold() for word in words})}


def jpeg_dimensions(raw: bytes) -> Tuple[Optional[int], Optional[int]]:
    """Walk the JPEG segments to the first start-of-frame (SOF0-SOF15 but DHT, JPG and DAC)."""
    offset = 2
    while raw[offset:offset + 1] == b"\xff" and offset + 9 <= len(raw):
        marker = raw[offset + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack_from(">HH", raw, offset + 5)
            return width, height
        offset += 2 + int.from_bytes(raw[offset + 2:offset + 4], "big")
    return None, None


def image_features(raw: bytes) -> Dict[str, Any]:
    for magic, (name, layout, offset) in IMAGE_HEADERS.items():
        if raw.startswith(magic) and len(raw) >= offset + struct.calcsize(layout):
            width, height = struct.unpack_from(layout, raw, offset)
            return {"image_format": name, "width": abs(width), "height": abs(height)}
    if raw.startswith(b"\xff\xd8"):
        width, height = jpeg_dimensions(raw)
        return {"image_format": "jpeg", "width": width, "height": height}
    return {}


def audio_features(raw: bytes) -> Dict[str, Any]:
    try:
        with wave.open(io.BytesIO(raw), "rb") as reader:
            frames, rate, channels = reader.getnframes(), reader.getframerate(), reader.getnchannels()
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"unreadable WAV audio: {exc}") from exc
    return {"duration_seconds": round(frames / rate, 6), "sample_rate": rate, "channels": channels}


FEATURES: Dict[str, Callable[[bytes], Dict[str, Any]]] = {
    "text": text_features,
    "image": image_features,
    "audio": audio_features,
}


def route_step(data: Dict[str, Any]) -> Dict[str, Any]:
    raw = payload(data)
    digest = hashlib.sha256(raw).hexdigest()
    return {**data, "modality": route(data["mime_type"]), "byte_size": len(raw), "sha256": digest}


def features_step(data: Dict[str, Any]) -> Dict[str, Any]:
    extract = FEATURES.get(data["modality"])
    return {**data, **extract(payload(data))} if extract else dict(data)
