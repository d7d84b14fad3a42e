"""{{class_name}}Processor on small batches: deterministic unit vectors, similar texts close together."""

import math

import pandas as pd

from ..manifest import EMBEDDING_DIM
from ..processors.core import {{class_name}}Config, {{class_name}}Processor

COLUMN = "{{name}}_embedding"


def embed(*texts, **config):
    processor = {{class_name}}Processor({{class_name}}Config(**config))
    return processor(pd.DataFrame({"data": list(texts), "mime_type": "text/plain"}))


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b))


def test_one_unit_vector_per_row():
    out = embed("Hello world", "Mixpeek plugins", "")
    assert len(out) == 3
    assert [len(v) for v in out[COLUMN]] == [EMBEDDING_DIM] * 3
    assert math.isclose(sum(x * x for x in out[COLUMN][0]), 1.0)
    assert out["token_count"].tolist() == [2, 2, 0]


def test_the_same_text_gives_the_same_vector():
    assert embed("A quiet morning")[COLUMN][0] == embed("A quiet morning")[COLUMN][0]


def test_shared_spelling_is_closer_than_none():
    query, near, far = embed("embedding plugins", "plugin embeddings", "zebra quartz")[COLUMN]
    assert cosine(query, near) > cosine(query, far)


def test_case_folding_is_a_parameter():
    upper, lower = embed("HELLO", "hello")[COLUMN]
    assert upper == lower
    upper, lower = embed("HELLO", "hello", lowercase=False)[COLUMN]
    assert upper != lower


def test_other_columns_are_kept():
    batch = pd.DataFrame({"data": ["x"], "mime_type": ["text/plain"], "document_id": ["doc_1"]})
    out = {{class_name}}Processor({{class_name}}Config())(batch)
    assert out["document_id"].tolist() == ["doc_1"]
