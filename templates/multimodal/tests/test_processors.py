"""Each row gets one vector of the declared size from the processor for its kind."""

import math
from pathlib import Path

import pandas as pd

from ..manifest import EMBEDDING_DIM
from ..processors.core import {{class_name}}Config, {{class_name}}Processor
from .test_pipeline import run_pipeline

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
COLUMN = "{{name}}_embedding"


def mixed_batch():
    return pd.DataFrame({
        "data": ["a photo of a teal square", (SAMPLES / "teal.png").as_uri(), "teal"],
        "mime_type": ["text/plain", "image/png", "text/plain"],
    })


def test_each_row_goes_to_its_processor_in_place():
    out = {{class_name}}Processor({{class_name}}Config())(mixed_batch())
    assert out["modality"].tolist() == ["text", "image", "text"]
    assert [len(v) for v in out[COLUMN]] == [EMBEDDING_DIM] * 3
    assert all(math.isclose(sum(x * x for x in v), 1.0) for v in out[COLUMN])


def test_a_one_colour_image_fills_one_cell():
    out = {{class_name}}Processor({{class_name}}Config())(mixed_batch())
    assert sum(1 for x in out[COLUMN][1] if x) == 1


def test_the_pipeline_routes_rows_by_row_condition():
    frame = run_pipeline()
    assert frame["modality"].tolist() == ["text", "image"]
