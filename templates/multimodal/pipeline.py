"""The multimodal pipeline: route by MIME type (with size and hash for all), then add that modality's features."""

from processors.core import features_step, route_step


def build_steps() -> list:
    """The route step decides the modality; the features step looks it up in processors.core.FEATURES."""
    return [
        {"name": "route", "fn": route_step},
        {"name": "modality_features", "fn": features_step},
    ]
