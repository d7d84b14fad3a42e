"""The WAV reader on files written here chunk by chunk, then the processor on the sample files."""

import math
import struct
from pathlib import Path

import pandas as pd
import pytest

from ..processors.core import {{class_name}}Config, {{class_name}}Processor, levels, read_wav

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def wave_file(samples, rate=8000, channels=1, width=2) -> bytes:
    """A PCM WAV from interleaved samples in [-1, 1]."""
    if width == 2:
        pcm = struct.pack("<%dh" % len(samples), *(round(s * 32767) for s in samples))
    else:
        pcm = bytes(round(128 + s * 127) for s in samples)
    return riff(fmt(channels=channels, rate=rate, bits=8 * width), sub_chunk(b"data", pcm))


def riff(*chunks: bytes) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def sub_chunk(chunk_id: bytes, body: bytes, declared=None) -> bytes:
    size = len(body) if declared is None else declared
    return chunk_id + struct.pack("<I", size) + body + b"\x00" * (len(body) & 1)


def fmt(channels=1, rate=8000, bits=16, tag=1, extra=b"") -> bytes:
    align = channels * bits // 8
    return sub_chunk(b"fmt ", struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits) + extra)


SINE = [0.5 * math.sin(2 * math.pi * 440 * n / 8000) for n in range(2000)]


def test_sixteen_bit_mono_sine():
    info = read_wav(wave_file(SINE))
    assert {k: info[k] for k in ("sample_rate", "channels", "bits_per_sample", "frame_count")} == {
        "sample_rate": 8000, "channels": 1, "bits_per_sample": 16, "frame_count": 2000,
    }
    raw = wave_file(SINE)
    rms, peak = levels(raw[info["data_offset"]:info["data_offset"] + info["data_length"]], 16)
    assert rms == pytest.approx(0.5 / math.sqrt(2), abs=1e-3)
    assert peak == pytest.approx(0.5, abs=1e-3)


def test_eight_bit_stereo():
    raw = wave_file([0.25, -0.25] * 100, rate=11025, channels=2, width=1)
    info = read_wav(raw)
    assert (info["channels"], info["bits_per_sample"], info["frame_count"]) == (2, 8, 100)
    rms, peak = levels(raw[info["data_offset"]:], 8)
    assert rms == pytest.approx(32 / 128) and peak == pytest.approx(32 / 128)


def test_full_scale_silence_and_empty():
    assert levels(struct.pack("<hh", -32768, 32767), 16) == (pytest.approx(1.0, abs=1e-4), 1.0)
    assert levels(b"\x80" * 10, 8) == (0.0, 0.0)
    assert levels(b"", 16) == (0.0, 0.0)


def test_odd_chunks_are_padded_and_extensible_pcm_is_accepted():
    extensible = struct.pack("<HHI", 22, 16, 0x4) + struct.pack("<H", 1) + b"\x00" * 14
    raw = riff(fmt(tag=0xFFFE, extra=extensible), sub_chunk(b"LIST", b"odd"), sub_chunk(b"data", b"\x01\x00" * 5))
    info = read_wav(raw)
    assert info["frame_count"] == 5 and raw[info["data_offset"]:info["data_offset"] + 2] == b"\x01\x00"


def test_an_overstated_data_size_is_clamped_to_whole_frames():
    raw = riff(fmt(channels=2), sub_chunk(b"data", b"\x00" * 10, declared=0xFFFFFFFF))
    assert read_wav(raw)["frame_count"] == 2


@pytest.mark.parametrize("raw, message", [
    (b"ID3\x03" + b"\x00" * 20, "not a RIFF/WAVE"),
    (riff(fmt(bits=24), sub_chunk(b"data", b"\x00" * 6)), "only 8- and 16-bit"),
    (riff(fmt(tag=3, bits=16), sub_chunk(b"data", b"\x00" * 4)), "only 8- and 16-bit"),
    (riff(sub_chunk(b"data", b"\x00" * 4), fmt()), "before its fmt"),
    (riff(fmt()), "no data chunk"),
])
def test_unsupported_or_broken_files_are_refused(raw, message):
    with pytest.raises(ValueError, match=message):
        read_wav(raw)


def test_the_processor_on_the_sample_files():
    urls = [(SAMPLES / name).as_uri() for name in ("a440-mono16.wav", "1k-stereo8.wav")]
    out = {{class_name}}Processor({{class_name}}Config())(pd.DataFrame({"data": urls, "mime_type": "audio/wav"}))
    assert out[["sample_rate", "channels", "bits_per_sample"]].values.tolist() == [[8000, 1, 16], [8000, 2, 8]]
    assert out["rms"][0] == pytest.approx(0.5 / math.sqrt(2), abs=2e-3)
    assert out["peak"][1] == pytest.approx(0.25, abs=0.01)
    assert out["is_silent"].tolist() == [False, False]


def test_silence_is_a_parameter():
    (url,) = [(SAMPLES / "1k-stereo8.wav").as_uri()]
    out = {{class_name}}Processor({{class_name}}Config(silence_threshold=0.5))(pd.DataFrame({"data": [url]}))
    assert out["is_silent"].tolist() == [True]
