"""Routing and the per-modality features, then the pipeline on sample_data.json (text, PNG, WAV, other)."""

import base64

import pytest
from pydantic import ValidationError

from manifest import InputSchema
from pipeline import build_steps
from processors.core import FEATURES, audio_features, image_features, route
from processors.runner import run_steps


@pytest.mark.parametrize("mime_type, expected", [
    ("text/plain", "text"), ("text/markdown", "text"), ("image/webp", "image"), ("audio/x-wav", "audio"),
    ("audio/mpeg", "other"), ("application/pdf", "other"), ("video/mp4", "other"),
])
def test_route_by_mime_type(mime_type, expected):
    assert route(mime_type) == expected


def test_every_routed_modality_has_features():
    assert set(FEATURES) == {"text", "image", "audio"}


@pytest.mark.parametrize("raw, expected", [
    (bytes.fromhex("89504e470d0a1a0a 0000000d 49484452 00000010 00000008 0802000000"), ("png", 16, 8)),
    (b"GIF87a\x05\x00\x07\x00", ("gif", 5, 7)),
    (b"BM" + bytes(16) + (3).to_bytes(4, "little") + (-4).to_bytes(4, "little", signed=True), ("bmp", 3, 4)),
    (bytes.fromhex("ffd8 ffe0 0004 0000 ffc0 0011 08 0020 0040 03"), ("jpeg", 64, 32)),
])
def test_image_dimensions(raw, expected):
    features = image_features(raw)
    assert (features["image_format"], features["width"], features["height"]) == expected


def test_unrecognised_images_and_broken_audio():
    assert image_features(b"RIFF....WEBP") == {}
    with pytest.raises(ValueError, match="WAV"):
        audio_features(b"RIFF\x04\x00\x00\x00WAVE")


def test_text_can_come_inline_or_as_a_file():
    inline = run_steps(build_steps(), {"text": "Red red BLUE", "mime_type": "text/plain"})
    as_file = {"data_base64": base64.b64encode(b"Red red BLUE").decode(), "mime_type": "text/plain"}
    encoded = run_steps(build_steps(), as_file)
    assert inline == encoded
    assert (inline["word_count"], inline["distinct_words"], inline["byte_size"]) == (3, 2, 12)


def test_other_types_get_size_and_hash_only():
    archive = {"data_base64": base64.b64encode(b"abc").decode(), "mime_type": "application/zip"}
    output = run_steps(build_steps(), archive)
    assert output["sha256"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert output["byte_size"] == 3 and output["width"] is None and output["word_count"] is None


@pytest.mark.parametrize("record", [
    {"mime_type": "text/plain"},
    {"mime_type": "text/plain", "text": "hi", "data_base64": "aGk="},
    {"text": "no mime type"},
])
def test_exactly_one_payload_and_a_mime_type(record):
    with pytest.raises(ValidationError):
        InputSchema.model_validate(record)


def test_pipeline_on_sample_data(sample_records):
    outputs = [run_steps(build_steps(), record) for record in sample_records]
    assert [o["modality"] for o in outputs] == ["text", "image", "audio", "other"]
    assert (outputs[0]["word_count"], outputs[0]["distinct_words"]) == (9, 8)
    assert (outputs[1]["image_format"], outputs[1]["width"], outputs[1]["height"]) == ("png", 3, 2)
    assert (outputs[2]["duration_seconds"], outputs[2]["sample_rate"], outputs[2]["channels"]) == (0.01, 16000, 1)
    assert outputs[3]["byte_size"] == 64 and outputs[3]["duration_seconds"] is None
