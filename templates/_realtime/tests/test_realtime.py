"""The realtime service answers like the batch pipeline does."""

import asyncio

from ..manifest import features, output_schema
from ..processors.media import plain
from ..realtime import {{class_name}}RealtimeService
from .test_pipeline import run_pipeline, sample_rows


def ask(inputs, parameters=None):
    return asyncio.run({{class_name}}RealtimeService()(inputs, parameters or {}))


def test_it_answers_the_first_sample_record_with_a_dict():
    answer = ask(sample_rows()[0])
    assert isinstance(answer, dict)
    output_schema.model_validate({key: answer[key] for key in output_schema.model_fields})


def test_realtime_and_batch_agree():
    answer = ask(sample_rows()[0])
    batch = run_pipeline().iloc[0]
    for field in output_schema.model_fields:
        assert answer[field] == plain(batch[field])


def test_the_embedding_has_the_declared_size():
    answer = ask(sample_rows()[0])
    for feature in features[:1]:
        assert len(answer["embedding"]) == feature["embedding_dim"]
