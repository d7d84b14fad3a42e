"""realtime.handle() answers like the batch pipeline does."""

import json

import pytest
from pydantic import ValidationError

import realtime
from manifest import OutputSchema, metadata
from pipeline import build_steps
from processors.runner import run_steps


def test_metadata_declares_realtime():
    assert metadata["realtime"] is True


def test_handle_matches_the_batch_pipeline(sample_records):
    for record in sample_records:
        response = realtime.handle(record)
        assert response == run_steps(build_steps(), record)
        assert OutputSchema.model_validate(response).model_dump(mode="json") == response
        json.dumps(response)


def test_handle_serves_repeated_requests(sample_records):
    first = [realtime.handle(record) for record in sample_records]
    assert [realtime.handle(record) for record in sample_records] == first


def test_handle_rejects_an_invalid_request():
    with pytest.raises(ValidationError):
        realtime.handle({"not": "an input record"})
