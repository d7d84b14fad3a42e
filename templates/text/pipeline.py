"""The text pipeline: split into words, pick keywords, score sentiment."""

from processors.core import keyword_step, sentiment_step, tokenize_step


def build_steps() -> list:
    """Steps run in this order; each takes the record dict and returns a new one with its fields added."""
    return [
        {"name": "tokenize", "fn": tokenize_step},
        {"name": "keywords", "fn": keyword_step},
        {"name": "sentiment", "fn": sentiment_step},
    ]
