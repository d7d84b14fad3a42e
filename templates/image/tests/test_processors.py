"""The image processors on images built here byte by byte, then the pipeline on sample_data.json."""

import base64
import struct
import zlib

import pytest
from pydantic import ValidationError

from manifest import InputSchema, OutputSchema
from pipeline import build_steps
from processors.core import decode_png, identify, mean_rgb, unfilter
from processors.runner import run_steps

SAMPLES_PER_PIXEL = {0: 1, 2: 3, 4: 2, 6: 4}


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def predictor(kind: int, left: int, up: int, up_left: int) -> int:
    """The PNG filter predictors, written independently of processors.core."""
    guess = left + up - up_left
    nearest = min((abs(guess - left), 0, left), (abs(guess - up), 1, up), (abs(guess - up_left), 2, up_left))
    return [0, left, up, (left + up) // 2, nearest[2]][kind]


def encode_png(rows, colour_type=2, filters=None, interlace=0, depth=8) -> bytes:
    """A real PNG whose row i is stored with filter filters[i]."""
    bpp = SAMPLES_PER_PIXEL[colour_type]
    width = len(rows[0]) * 8 // (bpp * depth)
    filters = filters or [0] * len(rows)
    stream, previous = bytearray(), bytes(len(rows[0]))
    for row, kind in zip(rows, filters):
        stream.append(kind)
        for i, value in enumerate(row):
            left = row[i - bpp] if i >= bpp else 0
            up_left = previous[i - bpp] if i >= bpp else 0
            stream.append((value - predictor(kind, left, previous[i], up_left)) & 0xFF)
        previous = row
    header = struct.pack(">IIBBBBB", width, len(rows), depth, colour_type, 0, 0, interlace)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(stream))) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


GRADIENT = [bytes(v for x in range(4) for v in (x * 60 + y * 7, 255 - x * 50, (x * y * 13) % 256)) for y in range(5)]


def test_all_five_row_filters_round_trip():
    header, rows = decode_png(encode_png(GRADIENT, filters=[0, 1, 2, 3, 4]))
    assert (header["width"], header["height"]) == (4, 5)
    assert [bytes(row) for row in rows] == GRADIENT


@pytest.mark.parametrize("colour_type, pixel, expected", [
    (0, b"\x80", [128, 128, 128]),
    (4, b"\x40\xff", [64, 64, 64]),
    (2, b"\x0a\x14\x1e", [10, 20, 30]),
    (6, b"\x0a\x14\x1e\x00", [10, 20, 30]),
])
def test_mean_colour_for_every_decoded_colour_type(colour_type, pixel, expected):
    header, rows = decode_png(encode_png([pixel * 3] * 2, colour_type=colour_type, filters=[4, 3]))
    assert mean_rgb(rows, SAMPLES_PER_PIXEL[colour_type]) == expected


def test_pngs_not_decoded_here_still_report_their_size():
    interlaced = encode_png([b"\x00\x00\x00"], interlace=1)
    sixteen_bit = encode_png([b"\x00" * 6], depth=16)
    for raw in (interlaced, sixteen_bit):
        assert decode_png(raw) is None
        assert identify(raw) == {"format": "png", "width": 1, "height": 1}


def test_corrupt_pngs_are_refused():
    good = encode_png([b"\x01\x02\x03"])
    corrupt = bytearray(good)
    corrupt[23] ^= 0xFF  # low byte of the height, inside IHDR
    with pytest.raises(ValueError, match="CRC"):
        identify(bytes(corrupt))
    with pytest.raises(ValueError, match="truncated"):
        identify(good[:30])
    with pytest.raises(ValueError, match="filter type 9"):
        unfilter(b"\x09\x00\x00\x00", 3, 1, 3)


def test_gif_jpeg_and_bmp_headers():
    gif = b"GIF89a" + struct.pack("<HH", 320, 200) + b"\x00" * 8
    jfif = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9
    sof = b"\xff\xc2" + struct.pack(">HBHHB", 17, 8, 480, 640, 3) + b"\x00" * 9
    jpeg = b"\xff\xd8" + jfif + b"\xff" + sof + b"\xff\xd9"
    bmp = b"BM" + b"\x00" * 12 + struct.pack("<Iii", 40, 7, -9) + b"\x00" * 28
    os2_bmp = b"BM" + b"\x00" * 12 + struct.pack("<IHH", 12, 5, 6)
    assert identify(gif) == {"format": "gif", "width": 320, "height": 200}
    assert identify(jpeg) == {"format": "jpeg", "width": 640, "height": 480}
    assert identify(bmp) == {"format": "bmp", "width": 7, "height": 9}
    assert identify(os2_bmp) == {"format": "bmp", "width": 5, "height": 6}
    assert identify(b"RIFF\x00\x00\x00\x00WEBPVP8 ")["format"] == "unknown"
    with pytest.raises(ValueError):
        identify(b"\xff\xd8\xff\xd9")


def test_input_accepts_only_images_and_valid_base64():
    png = base64.b64encode(encode_png([b"\x00\x00\x00"])).decode()
    record = InputSchema.model_validate({"data_base64": png[:10] + "\n" + png[10:], "mime_type": " Image/PNG "})
    assert record.mime_type == "image/png" and "\n" not in record.data_base64
    for bad in ({"data_base64": png, "mime_type": "audio/wav"}, {"data_base64": "%%%", "mime_type": "image/png"}):
        with pytest.raises(ValidationError):
            InputSchema.model_validate(bad)


def test_pipeline_on_sample_data(sample_records):
    outputs = [run_steps(build_steps(), record) for record in sample_records]
    assert [(o["format"], o["width"], o["height"], o["decoded"]) for o in outputs] == [
        ("png", 4, 5, True), ("png", 2, 2, True), ("gif", 1, 1, False),
    ]
    assert outputs[0]["mean_color"] == [104, 180, 39]  # the GRADIENT pixels, stored with filters 0-4
    assert outputs[1]["mean_color"] == [10, 200, 30]
    assert outputs[1]["brightness"] == round((0.299 * 10 + 0.587 * 200 + 0.114 * 30) / 255, 4)
    assert outputs[2]["mean_color"] is None and outputs[2]["brightness"] is None
    assert all(OutputSchema.model_validate(o) for o in outputs)
