"""Two processors, one vector index: text rows get a hashed n-gram vector, image rows a colour histogram.

pipeline.py gives each processor its rows with a RowCondition; {{class_name}}Processor takes a mixed batch
(the realtime service uses it). The two vectors share a size, not a meaning: for search across modalities,
replace both with one joint model (CLIP, SigLIP) and keep the column and its size.
"""

from dataclasses import dataclass

import pandas as pd
from shared.plugins import open_asset

from ..manifest import COLOR_BINS, EMBEDDING_DIM
from .vectors import color_histogram, ngram_vector


@dataclass
class {{class_name}}Config:
    """What the processors need from the collection's parameters."""

    ngram: int = 3
    thumbnail: int = 64
    output_column: str = "{{name}}_embedding"

    @classmethod
    def from_params(cls, params):
        return cls(ngram=params.ngram, thumbnail=params.thumbnail)


class {{class_name}}TextProcessor:
    """Text rows (their text is in the data column)."""

    def __init__(self, config: {{class_name}}Config, progress_actor=None):
        self.config = config

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        texts = batch["data"].fillna("").astype(str)
        vectors = [ngram_vector(text, EMBEDDING_DIM, self.config.ngram) for text in texts]
        return batch.assign(**{self.config.output_column: vectors, "modality": "text"})


class {{class_name}}ImageProcessor:
    """Image rows (their URLs are in the data column)."""

    def __init__(self, config: {{class_name}}Config, progress_actor=None):
        self.config = config

    def embed(self, url: str):
        with open_asset(url, ".img") as path:
            return color_histogram(path, COLOR_BINS, self.config.thumbnail)

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        vectors = [self.embed(url) for url in batch["data"]]
        return batch.assign(**{self.config.output_column: vectors, "modality": "image"})


class {{class_name}}Processor:
    """A mixed batch: each row goes to the text or the image processor by its MIME type."""

    def __init__(self, config: {{class_name}}Config, progress_actor=None):
        self.text = {{class_name}}TextProcessor(config)
        self.image = {{class_name}}ImageProcessor(config)

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        is_image = batch["mime_type"].fillna("").str.startswith("image/")
        parts = [self.image(batch[is_image]), self.text(batch[~is_image])]
        return pd.concat([part for part in parts if len(part)]).loc[batch.index]
