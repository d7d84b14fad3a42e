"""The video pipeline: recognise the container from its magic bytes, then read its structure."""

from processors.core import container_step, detect_step


def build_steps() -> list:
    """Ordered steps; a step receives the record dict and hands back a new dict with more fields."""
    return [
        {"name": "detect_container", "fn": detect_step},
        {"name": "read_container", "fn": container_step},
    ]
