"""The document pipeline: pull the text out of the file, then count characters, words and lines."""

from processors.core import count_step, extract_step


def build_steps() -> list:
    """Run top to bottom. Every fn gets the record as a dict and returns a new dict with its results added."""
    return [
        {"name": "extract_text", "fn": extract_step},
        {"name": "count_text", "fn": count_step},
    ]
