"""{{class_name}}Processor: container metadata of each video, read from the file's bytes.

- MP4 / MOV (ISO base media file format): boxes are walked with struct; `ftyp` gives the brands,
  `moov/mvhd` the timescale and duration, and each `moov/trak` is a track.
- WebM / Matroska: recognised by the EBML magic; the EBML header's DocType names the flavour,
  Segment/Info gives TimestampScale and Duration, Segment/Tracks holds one TrackEntry per track.
No frame is decoded: add a GPU or API step after this one for scene, object or speech features.
"""

import struct
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pandas as pd

from .media import add_columns, read_bytes

EBML_MAGIC = b"\x1a\x45\xdf\xa3"
EBML_HEADER, EBML_DOCTYPE, SEGMENT, INFO, TRACKS = 0x1A45DFA3, 0x4282, 0x18538067, 0x1549A966, 0x1654AE6B
TIMESTAMP_SCALE, DURATION, TRACK_ENTRY = 0x2AD7B1, 0x4489, 0xAE


def iter_boxes(raw: bytes, start: int = 0, end: Optional[int] = None) -> Iterator[Tuple[bytes, int, int]]:
    """Yield (box type, body start, body end) for the ISO-BMFF boxes between start and end."""
    end = len(raw) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", raw, pos)
        header = 8
        if size == 1:  # 64-bit size follows the type
            if pos + 16 > end:
                raise ValueError("truncated 64-bit box header")
            (size,) = struct.unpack_from(">Q", raw, pos + 8)
            header = 16
        elif size == 0:  # box runs to the end of its parent
            size = end - pos
        if size < header:
            raise ValueError(f"invalid size {size} for box {kind!r} at byte {pos}")
        yield kind, pos + header, min(pos + size, end)
        pos += size


def index_boxes(raw: bytes, start: int = 0, end: Optional[int] = None) -> Dict[bytes, List[Tuple[int, int]]]:
    """Box type -> [(body start, body end), ...] for the boxes directly between start and end."""
    found: Dict[bytes, List[Tuple[int, int]]] = {}
    for kind, body, body_end in iter_boxes(raw, start, end):
        found.setdefault(kind, []).append((body, body_end))
    return found


def read_iso_bmff(raw: bytes) -> Dict[str, Any]:
    top = index_boxes(raw)
    brand, compatible = None, []
    if b"ftyp" in top:
        body, end = top[b"ftyp"][0]
        brand = raw[body:body + 4].decode("latin-1")
        compatible = [raw[i:i + 4].decode("latin-1") for i in range(body + 8, end - 3, 4)]
    movie = index_boxes(raw, *top[b"moov"][0]) if b"moov" in top else {}
    duration = movie_duration(raw[slice(*movie[b"mvhd"][0])]) if b"mvhd" in movie else None
    return {
        "format": "mov" if brand in (None, "qt  ") else "mp4",  # QuickTime files may predate ftyp
        "brand": brand,
        "compatible_brands": compatible,
        "duration_seconds": duration,
        "track_count": len(movie.get(b"trak", [])),
    }


def movie_duration(mvhd: bytes) -> Optional[float]:
    """Seconds from a movie header box body (version 0: 32-bit times, version 1: 64-bit)."""
    layout = ">QQIQ" if mvhd[:1] == b"\x01" else ">IIII"
    if len(mvhd) < 4 + struct.calcsize(layout):
        raise ValueError("truncated mvhd box")
    _created, _modified, timescale, duration = struct.unpack_from(layout, mvhd, 4)
    if not timescale or duration in (0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):  # unknown duration
        return None
    return round(duration / timescale, 6)


def read_vint(raw: bytes, pos: int, keep_marker: bool) -> Tuple[int, int]:
    """An EBML variable-length integer at pos: (value, position after it). IDs keep their marker bit."""
    if pos >= len(raw) or raw[pos] == 0:
        raise ValueError(f"invalid EBML number at byte {pos}")
    length = 9 - raw[pos].bit_length()
    if pos + length > len(raw):
        raise ValueError(f"truncated EBML number at byte {pos}")
    value = int.from_bytes(raw[pos:pos + length], "big")
    if not keep_marker:
        value &= (1 << (7 * length)) - 1
        if value == (1 << (7 * length)) - 1:
            value = -1  # all ones: unknown size
    return value, pos + length


def index_elements(raw: bytes, start: int, end: int) -> Dict[int, List[Tuple[int, int]]]:
    """Element id -> [(data start, data end), ...] for the EBML elements directly between start and end."""
    found: Dict[int, List[Tuple[int, int]]] = {}
    pos = start
    while pos < end:
        element_id, pos = read_vint(raw, pos, keep_marker=True)
        size, pos = read_vint(raw, pos, keep_marker=False)
        data_end = end if size < 0 else min(pos + size, end)
        found.setdefault(element_id, []).append((pos, data_end))
        pos = data_end
    return found


def element_bytes(raw: bytes, found: Dict[int, List[Tuple[int, int]]], element_id: int) -> Optional[bytes]:
    """The data of the first element with this id, or None."""
    return raw[slice(*found[element_id][0])] if element_id in found else None


def read_matroska(raw: bytes) -> Dict[str, Any]:
    top = index_elements(raw, 0, len(raw))
    header = index_elements(raw, *top[EBML_HEADER][0])
    doc_type = element_bytes(raw, header, EBML_DOCTYPE)
    brand = doc_type.rstrip(b"\x00").decode("ascii", "replace") if doc_type else "matroska"
    segment = index_elements(raw, *top[SEGMENT][0]) if SEGMENT in top else {}
    info = index_elements(raw, *segment[INFO][0]) if INFO in segment else {}
    scale = element_bytes(raw, info, TIMESTAMP_SCALE)
    duration = element_bytes(raw, info, DURATION)
    seconds = None
    if duration is not None and len(duration) in (4, 8):
        (ticks,) = struct.unpack(">f" if len(duration) == 4 else ">d", duration)
        seconds = round(ticks * (int.from_bytes(scale, "big") if scale else 1_000_000) / 1e9, 6)
    tracks = [index_elements(raw, *span).get(TRACK_ENTRY, []) for span in segment.get(TRACKS, [])]
    return {
        "format": "webm" if brand == "webm" else "matroska",
        "brand": brand,
        "compatible_brands": [],
        "duration_seconds": seconds,
        "track_count": sum(len(entries) for entries in tracks),
    }


def sniff_container(raw: bytes) -> str:
    """'iso-bmff', 'ebml' or 'unknown', from the first bytes."""
    if raw.startswith(EBML_MAGIC):
        return "ebml"
    if raw[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
        return "iso-bmff"
    return "unknown"


READERS = {"iso-bmff": read_iso_bmff, "ebml": read_matroska}


def describe_video(raw: bytes) -> Dict[str, Any]:
    """format, brand, compatible_brands, duration_seconds and track_count of a video file's bytes."""
    container = sniff_container(raw)
    if container not in READERS:
        return {"format": "unknown", "brand": None, "compatible_brands": [], "duration_seconds": None,
                "track_count": 0}
    try:
        return READERS[container](raw)
    except (struct.error, KeyError) as exc:
        raise ValueError("truncated %s structure: %s" % (container, exc)) from exc


@dataclass
class {{class_name}}Config:
    """What the processor needs from the collection's parameters."""

    max_bytes: int = 512 * 1024 * 1024

    @classmethod
    def from_params(cls, params):
        return cls(max_bytes=params.max_megabytes * 1024 * 1024)


class {{class_name}}Processor:
    """Built once per worker; called once per batch of video rows (their URLs are in the data column)."""

    def __init__(self, config: {{class_name}}Config, progress_actor=None):
        self.config = config
        self.progress_actor = progress_actor

    def describe(self, url: str) -> Dict[str, Any]:
        raw = read_bytes(url, ".video")
        if len(raw) > self.config.max_bytes:
            raise ValueError("%s is %d bytes, over the max_megabytes parameter" % (url, len(raw)))
        return dict(describe_video(raw), byte_size=len(raw))

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        return add_columns(batch, [self.describe(url) for url in batch["data"]])
