"""The whole batch pipeline on sample_data.json, as the platform runs it: rows in, one output row each."""

import json
from pathlib import Path

import pandas as pd
import pytest
from shared.collection.features.extractors.models import ExtractorConfig, ExtractorRequest

from ..manifest import features, metadata, output_schema
from ..pipeline import build_steps

PLUGIN = Path(__file__).resolve().parent.parent


def request(**parameters):
    config = ExtractorConfig(metadata["feature_extractor_name"], metadata["version"], parameters=parameters)
    return ExtractorRequest(config)


def sample_rows():
    """sample_data.json as batch rows: media paths become file:// URLs, as the platform gives URLs."""
    rows = []
    for record in json.loads((PLUGIN / "sample_data.json").read_text(encoding="utf-8")):
        row = dict(record)
        if not row["mime_type"].startswith("text/"):
            row["data"] = (PLUGIN / row["data"]).as_uri()
        rows.append(row)
    return rows


def run_pipeline(**parameters):
    pipeline = build_steps(request(**parameters))
    frame = pipeline["prepare"](pd.DataFrame(sample_rows()))
    for step in pipeline["steps"]:
        frame = step(frame)
    return frame


def test_build_steps_returns_steps_and_prepare():
    pipeline = build_steps(request())
    assert set(pipeline) == {"steps", "prepare"}
    assert pipeline["steps"] and all(callable(step) for step in pipeline["steps"])


def test_every_sample_row_gives_a_valid_output_row():
    frame = run_pipeline()
    assert len(frame) == len(sample_rows())
    for row in frame.to_dict("records"):
        output_schema.model_validate({key: row[key] for key in output_schema.model_fields})


def test_embeddings_have_the_declared_size():
    frame = run_pipeline()
    for feature in features:
        for vector in frame[feature["feature_name"]]:
            assert len(vector) == feature["embedding_dim"]


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError):
        build_steps(request(unknown_parameter=1))
