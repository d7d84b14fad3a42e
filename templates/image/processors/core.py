"""Image features from the file bytes with the standard library only.

- PNG: chunks read with struct (CRC-checked); pixels inflated with zlib and un-filtered (all five row
  filters) for 8-bit grey, grey+alpha, RGB and RGBA, non-interlaced. Other PNGs report their size only.
- GIF, JPEG, BMP: width and height from the headers.
Swap in a model (resource type GPU or API) for labels or embeddings; keep the header checks as a cheap first step.
"""

import struct
import zlib
from typing import Any, Dict, Iterator, List, Optional, Tuple

from processors.media import media_bytes

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type -> samples per pixel (8-bit colour types decoded here)
MAX_DECODED_PIXELS = 25_000_000  # larger images report their header only
JPEG_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
JPEG_STANDALONE_MARKERS = frozenset([0x01, *range(0xD0, 0xD8)])


def iter_png_chunks(raw: bytes) -> Iterator[Tuple[bytes, bytes]]:
    """Yield (type, body) for each chunk up to IEND, checking lengths and CRCs."""
    pos = len(PNG_SIGNATURE)
    while pos < len(raw):
        if pos + 12 > len(raw):
            raise ValueError("truncated PNG chunk header")
        length, kind = struct.unpack_from(">I4s", raw, pos)
        end = pos + 8 + length
        if end + 4 > len(raw):
            raise ValueError(f"truncated PNG {kind!r} chunk")
        body = raw[pos + 8:end]
        (crc,) = struct.unpack_from(">I", raw, end)
        if zlib.crc32(kind + body) != crc:
            raise ValueError(f"bad CRC in PNG {kind!r} chunk")
        yield kind, body
        if kind == b"IEND":
            return
        pos = end + 4


def png_header(raw: bytes) -> Dict[str, int]:
    """Fields of the IHDR chunk, which must come first."""
    kind, body = next(iter_png_chunks(raw), (b"", b""))
    if kind != b"IHDR" or len(body) != 13:
        raise ValueError("PNG does not start with an IHDR chunk")
    width, height, depth, colour, _compression, _filter, interlace = struct.unpack(">IIBBBBB", body)
    if not width or not height:
        raise ValueError("PNG has a zero width or height")
    return {"width": width, "height": height, "bit_depth": depth, "color_type": colour, "interlace": interlace}


def paeth(left: int, up: int, up_left: int) -> int:
    estimate = left + up - up_left
    dl, du, dul = abs(estimate - left), abs(estimate - up), abs(estimate - up_left)
    if dl <= du and dl <= dul:
        return left
    return up if du <= dul else up_left


def unfilter(scanlines: bytes, stride: int, height: int, bpp: int) -> List[bytearray]:
    """Undo the per-row PNG filters (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth); returns the raw rows."""
    if len(scanlines) < height * (stride + 1):
        raise ValueError("PNG image data is shorter than its header promises")
    rows: List[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, row = scanlines[start], bytearray(scanlines[start + 1:start + 1 + stride])
        for i in range(stride):
            left = row[i - bpp] if i >= bpp else 0
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + previous[i]) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + ((left + previous[i]) >> 1)) & 0xFF
            elif kind == 4:
                up_left = previous[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + paeth(left, previous[i], up_left)) & 0xFF
            elif kind != 0:
                raise ValueError(f"unknown PNG filter type {kind} in row {y}")
        rows.append(row)
        previous = row
    return rows


def decode_png(raw: bytes) -> Optional[Tuple[Dict[str, int], List[bytearray]]]:
    """(header, rows of samples) for the PNG kinds decoded here, None for the others."""
    header = png_header(raw)
    bpp = PNG_CHANNELS.get(header["color_type"])
    width, height = header["width"], header["height"]
    if header["bit_depth"] != 8 or bpp is None or header["interlace"] or width * height > MAX_DECODED_PIXELS:
        return None
    compressed = b"".join(body for kind, body in iter_png_chunks(raw) if kind == b"IDAT")
    expected = height * (width * bpp + 1)
    try:
        scanlines = zlib.decompressobj().decompress(compressed, expected)  # bounded: no decompression bomb
    except zlib.error as exc:
        raise ValueError(f"corrupt PNG image data: {exc}") from exc
    return header, unfilter(scanlines, width * bpp, height, bpp)


def mean_rgb(rows: List[bytearray], bpp: int) -> List[int]:
    """Mean red, green and blue; grey images give three equal values and alpha is ignored."""
    pixels = sum(len(row) for row in rows) // bpp
    colour_channels = 3 if bpp >= 3 else 1
    totals = [sum(sum(row[c::bpp]) for row in rows) for c in range(colour_channels)]
    means = [round(total / pixels) for total in totals]
    return means * 3 if colour_channels == 1 else means


def jpeg_size(raw: bytes) -> Tuple[int, int]:
    """Width and height from the first start-of-frame segment."""
    pos = 2
    while pos + 4 <= len(raw):
        if raw[pos] != 0xFF:
            raise ValueError(f"corrupt JPEG: no marker at byte {pos}")
        marker = raw[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in JPEG_STANDALONE_MARKERS:
            pos += 2
            continue
        if marker in JPEG_SOF_MARKERS and pos + 9 <= len(raw):
            height, width = struct.unpack_from(">HH", raw, pos + 5)
            return width, height
        if marker in (0xD9, 0xDA):  # end of image, start of scan
            break
        (segment_length,) = struct.unpack_from(">H", raw, pos + 2)
        pos += 2 + segment_length
    raise ValueError("JPEG has no frame header")


def bmp_size(raw: bytes) -> Tuple[int, int]:
    (dib_size,) = struct.unpack_from("<I", raw, 14)
    if dib_size == 12:  # OS/2 BITMAPCOREHEADER
        return struct.unpack_from("<HH", raw, 18)
    width, height = struct.unpack_from("<ii", raw, 18)
    return abs(width), abs(height)  # a negative height means rows are stored top-down


def identify(raw: bytes) -> Dict[str, Any]:
    """Format, width and height read from the header; unknown formats give nulls."""
    try:
        if raw.startswith(PNG_SIGNATURE):
            header = png_header(raw)
            return {"format": "png", "width": header["width"], "height": header["height"]}
        if raw[:6] in (b"GIF87a", b"GIF89a"):
            width, height = struct.unpack_from("<HH", raw, 6)
            return {"format": "gif", "width": width, "height": height}
        if raw.startswith(b"\xff\xd8"):
            width, height = jpeg_size(raw)
            return {"format": "jpeg", "width": width, "height": height}
        if raw.startswith(b"BM"):
            width, height = bmp_size(raw)
            return {"format": "bmp", "width": width, "height": height}
    except struct.error as exc:
        raise ValueError(f"truncated image header: {exc}") from exc
    return {"format": "unknown", "width": None, "height": None}


def identify_step(data: Dict[str, Any]) -> Dict[str, Any]:
    raw = media_bytes(data)
    return {**data, **identify(raw), "byte_size": len(raw)}


def colour_step(data: Dict[str, Any]) -> Dict[str, Any]:
    stats: Dict[str, Any] = {"decoded": False, "mean_color": None, "brightness": None}
    decoded = decode_png(media_bytes(data)) if data["format"] == "png" else None
    if decoded is not None:
        header, rows = decoded
        red, green, blue = mean_rgb(rows, PNG_CHANNELS[header["color_type"]])
        brightness = round((0.299 * red + 0.587 * green + 0.114 * blue) / 255, 4)
        stats = {"decoded": True, "mean_color": [red, green, blue], "brightness": brightness}
    return {**data, **stats}
