"""The image pipeline: identify the format from the header, then measure colour when the pixels decode."""

from processors.core import colour_step, identify_step


def build_steps() -> list:
    """Each step takes the record dict and returns a new dict with its fields added; order matters."""
    return [
        {"name": "identify", "fn": identify_step},
        {"name": "measure_colour", "fn": colour_step},
    ]
