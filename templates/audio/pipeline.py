"""The audio pipeline: read the WAV format, then measure the levels of its samples."""

from processors.core import format_step, levels_step


def build_steps() -> list:
    """Mixpeek calls each fn with the record dict; each returns a new dict carrying the fields it adds."""
    return [
        {"name": "read_format", "fn": format_step},
        {"name": "measure_levels", "fn": levels_step},
    ]
