"""The container readers on files assembled here box by box and element by element, then the samples."""

import struct
from pathlib import Path

import pandas as pd
import pytest

from ..processors.core import (
    {{class_name}}Config,
    {{class_name}}Processor,
    describe_video,
    read_iso_bmff,
    read_matroska,
    read_vint,
    sniff_container,
)

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def box(kind: bytes, body: bytes = b"", large: bool = False) -> bytes:
    if large:
        return struct.pack(">I4sQ", 1, kind, 16 + len(body)) + body
    return struct.pack(">I4s", 8 + len(body), kind) + body


def mvhd(timescale: int, duration: int, version: int = 0) -> bytes:
    times = struct.pack(">QQIQ" if version else ">IIII", 0, 0, timescale, duration)
    return box(b"mvhd", bytes([version, 0, 0, 0]) + times + b"\x00" * 80)


def movie(brand: bytes, tracks: int, header: bytes) -> bytes:
    ftyp = box(b"ftyp", brand + b"\x00\x00\x02\x00" + b"isomiso2mp41")
    return ftyp + box(b"moov", header + box(b"trak", box(b"tkhd")) * tracks) + box(b"mdat", b"\x00" * 32, large=True)


def element(element_id: bytes, body: bytes = b"", unknown_size: bool = False) -> bytes:
    """An EBML element; sizes use the 1-byte form when they fit, else the 8-byte form."""
    if unknown_size:
        size = b"\x01\xff\xff\xff\xff\xff\xff\xff"
    elif len(body) < 127:
        size = bytes([0x80 | len(body)])
    else:
        size = (1 << 56 | len(body)).to_bytes(8, "big")
    return element_id + size + body


def test_mp4_brands_duration_and_tracks():
    facts = read_iso_bmff(movie(b"isom", 2, mvhd(1000, 2500)))
    assert facts == {"format": "mp4", "brand": "isom", "compatible_brands": ["isom", "iso2", "mp41"],
                     "duration_seconds": 2.5, "track_count": 2}


def test_quicktime_with_version_1_header():
    facts = read_iso_bmff(movie(b"qt  ", 1, mvhd(600, 600 * 3600 * 30, version=1)))
    assert (facts["format"], facts["duration_seconds"], facts["track_count"]) == ("mov", 108000.0, 1)
    assert read_iso_bmff(box(b"moov", mvhd(90000, 45000)))["format"] == "mov"  # no ftyp: old QuickTime


def test_box_edge_cases():
    runs_to_end = movie(b"mp42", 0, b"") + struct.pack(">I4s", 0, b"mdat") + b"\x00" * 8
    assert read_iso_bmff(runs_to_end)["track_count"] == 0
    assert read_iso_bmff(box(b"ftyp", b"avc1\x00\x00\x00\x00") + box(b"moov", mvhd(0, 10)))["duration_seconds"] is None
    with pytest.raises(ValueError, match="invalid size"):
        read_iso_bmff(struct.pack(">I4s", 4, b"ftyp") + b"\x00" * 8)


def test_ebml_variable_length_numbers():
    assert read_vint(b"\x81", 0, keep_marker=False) == (1, 1)
    assert read_vint(b"\x40\x02", 0, keep_marker=False) == (2, 2)
    assert read_vint(b"\x1a\x45\xdf\xa3", 0, keep_marker=True) == (0x1A45DFA3, 4)
    assert read_vint(b"\xff", 0, keep_marker=False) == (-1, 1)
    with pytest.raises(ValueError):
        read_vint(b"\x00", 0, keep_marker=False)
    with pytest.raises(ValueError, match="truncated"):
        read_vint(b"\x20\x00", 0, keep_marker=False)


def matroska(doc_type: bytes, duration: bytes, tracks: int, scale: bytes = b"", unknown_size: bool = False) -> bytes:
    header = element(b"\x1a\x45\xdf\xa3", element(b"\x42\x86", b"\x01") + element(b"\x42\x82", doc_type))
    scale_element = element(b"\x2a\xd7\xb1", scale) if scale else b""
    info = element(b"\x15\x49\xa9\x66", scale_element + element(b"\x44\x89", duration))
    entries = element(b"\x16\x54\xae\x6b", element(b"\xae", element(b"\xd7", b"\x01")) * tracks)
    return header + element(b"\x18\x53\x80\x67", info + entries, unknown_size=unknown_size)


def test_webm_and_matroska():
    webm = matroska(b"webm", struct.pack(">d", 1500.0), 2)
    assert sniff_container(webm) == "ebml"
    assert read_matroska(webm) == {"format": "webm", "brand": "webm", "compatible_brands": [],
                                   "duration_seconds": 1.5, "track_count": 2}
    mkv = matroska(b"matroska", struct.pack(">f", 40.0), 3, scale=(100_000_000).to_bytes(4, "big"), unknown_size=True)
    assert read_matroska(mkv) == {"format": "matroska", "brand": "matroska", "compatible_brands": [],
                                  "duration_seconds": 4.0, "track_count": 3}


def test_unknown_bytes_are_reported_not_guessed():
    facts = describe_video(b"just some bytes")
    assert (facts["format"], facts["track_count"], facts["duration_seconds"]) == ("unknown", 0, None)


def test_the_processor_on_the_sample_videos():
    urls = [(SAMPLES / name).as_uri() for name in ("clip.mp4", "clip.mov", "clip.webm")]
    out = {{class_name}}Processor({{class_name}}Config())(pd.DataFrame({"data": urls, "mime_type": "video/mp4"}))
    assert out[["format", "brand", "duration_seconds", "track_count"]].values.tolist() == [
        ["mp4", "isom", 2.5, 2], ["mov", "qt  ", 1.0, 1], ["webm", "webm", 3.2, 2],
    ]
    assert out["compatible_brands"][0] == ["isom", "iso2", "avc1", "mp41"]
    assert out["byte_size"].tolist() == [(SAMPLES / n).stat().st_size for n in ("clip.mp4", "clip.mov", "clip.webm")]


def test_the_size_limit_is_a_parameter():
    url = (SAMPLES / "clip.mp4").as_uri()
    with pytest.raises(ValueError, match="max_megabytes"):
        {{class_name}}Processor({{class_name}}Config(max_bytes=100)).describe(url)
