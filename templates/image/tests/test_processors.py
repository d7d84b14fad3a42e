"""{{class_name}}Processor on the sample images: exact sizes, formats and colours."""

import math
from pathlib import Path

import pandas as pd

from ..manifest import EMBEDDING_DIM
from ..processors.core import {{class_name}}Config, {{class_name}}Processor

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
COLUMN = "{{name}}_embedding"


def describe(*names, **config):
    urls = [(SAMPLES / name).as_uri() for name in names]
    batch = pd.DataFrame({"data": urls, "mime_type": "image/png"})
    return {{class_name}}Processor({{class_name}}Config(**config))(batch)


def test_size_format_and_brightness():
    out = describe("green.png", "gradient.png")
    assert out[["width", "height"]].values.tolist() == [[2, 2], [4, 5]]
    assert out["image_format"].tolist() == ["PNG", "PNG"]
    assert all(0.0 <= b <= 1.0 for b in out["brightness"])


def test_a_one_colour_image_fills_one_histogram_cell():
    (vector,) = describe("green.png")[COLUMN]
    assert len(vector) == EMBEDDING_DIM
    assert sorted(vector)[-1] == 1.0 and sum(1 for x in vector if x) == 1


def test_embeddings_are_unit_vectors():
    for vector in describe("green.png", "gradient.png")[COLUMN]:
        assert math.isclose(sum(x * x for x in vector), 1.0)


def test_rows_keep_their_columns_and_order():
    out = describe("gradient.png", "green.png")
    assert out["data"].tolist() == [(SAMPLES / n).as_uri() for n in ("gradient.png", "green.png")]
