"""{{class_name}}Processor: a colour-histogram embedding, the size and the brightness of each image.

The image is read through open_asset (the platform forbids open()). Replace color_histogram() with your
model (CLIP, SigLIP, ...) and keep one vector of manifest.EMBEDDING_DIM numbers per row.
"""

from dataclasses import dataclass

import pandas as pd
from PIL import Image, ImageStat
from shared.plugins import open_asset

from ..manifest import COLOR_BINS
from .media import add_columns
from .vectors import color_histogram


@dataclass
class {{class_name}}Config:
    """What the processor needs from the collection's parameters."""

    thumbnail: int = 64
    output_column: str = "{{name}}_embedding"

    @classmethod
    def from_params(cls, params):
        return cls(thumbnail=params.thumbnail)


class {{class_name}}Processor:
    """Built once per worker; called once per batch of image rows (their URLs are in the data column)."""

    def __init__(self, config: {{class_name}}Config, progress_actor=None):
        self.config = config
        self.progress_actor = progress_actor

    def describe(self, url: str) -> dict:
        with open_asset(url, ".img") as path:
            with Image.open(path) as image:
                width, height, image_format = image.width, image.height, image.format or "unknown"
                brightness = ImageStat.Stat(image.convert("L")).mean[0] / 255.0
            vector = color_histogram(path, COLOR_BINS, self.config.thumbnail)
        return {
            self.config.output_column: vector,
            "width": width,
            "height": height,
            "image_format": image_format,
            "brightness": round(brightness, 6),
        }

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        return add_columns(batch, [self.describe(url) for url in batch["data"]])
