"""The text processors, one by one, then the pipeline on sample_data.json."""

import pytest
from pydantic import ValidationError

from manifest import InputSchema, metadata
from pipeline import build_steps
from processors.core import sentiment, tokenize, top_keywords
from processors.runner import run_steps


def test_row_condition_selects_rows_with_text():
    assert metadata["row_conditions"] == [{"field": "text", "operator": "exists", "value": True}]


def test_input_defaults_and_limits():
    assert InputSchema.model_validate({"text": "hi"}).top_k == 5
    for bad in ({"text": ""}, {"text": "hi", "top_k": 0}, {"text": "hi", "top_k": 51}, {"top_k": 3}):
        with pytest.raises(ValidationError):
            InputSchema.model_validate(bad)


def test_tokenize_lowercases_and_keeps_contractions():
    assert tokenize("Don't PANIC, it's 42_000!") == ["don't", "panic", "it's", "42", "000"]
    assert tokenize("Café naïve") == ["café", "naïve"]
    assert tokenize("   ") == []


def test_keywords_skip_stopwords_and_rank_by_count_then_position():
    tokens = tokenize("the cat and the dog; the cat sat. 2024 dog cat owl")
    assert top_keywords(tokens, 2) == [{"word": "cat", "count": 3}, {"word": "dog", "count": 2}]
    assert [k["word"] for k in top_keywords(tokens, 10)] == ["cat", "dog", "sat", "owl"]


@pytest.mark.parametrize(
    "text, expected_score, expected_label",
    [
        ("good", 0.5, "positive"),
        ("great, fast and reliable", 0.75, "positive"),
        ("not good", -0.5, "negative"),
        ("it doesn't crash any more", 0.5, "positive"),
        ("good but slow", 0.0, "neutral"),
        ("a plain sentence", 0.0, "neutral"),
    ],
)
def test_sentiment_lexicon(text, expected_score, expected_label):
    assert sentiment(tokenize(text)) == (expected_score, expected_label)


def test_sentiment_stays_within_bounds():
    score, label = sentiment(tokenize("terrible awful horrible " * 50))
    assert -1.0 < score < -0.99 and label == "negative"


def test_pipeline_on_sample_data(sample_records):
    outputs = [run_steps(build_steps(), record) for record in sample_records]
    assert [output["sentiment_label"] for output in outputs] == ["positive", "negative", "neutral"]
    assert outputs[0]["keywords"][0] == {"word": "search", "count": 2}
    assert outputs[2]["word_count"] == 11
    assert "tokens" not in outputs[0]
