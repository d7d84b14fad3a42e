"""{{class_name}}Processor: a text embedding per row, from hashed character n-grams (processors/vectors.py).

Replace ngram_vector() with your model; load it in __init__ (once per worker) or lazily on the first batch.
"""

from dataclasses import dataclass

import pandas as pd

from ..manifest import EMBEDDING_DIM
from .vectors import WORD, ngram_vector


@dataclass
class {{class_name}}Config:
    """What the processor needs from the collection's parameters."""

    ngram: int = 3
    lowercase: bool = True
    output_column: str = "{{name}}_embedding"

    @classmethod
    def from_params(cls, params):
        return cls(ngram=params.ngram, lowercase=params.lowercase)


class {{class_name}}Processor:
    """Built once per worker; called once per batch of text rows (their text is in the data column)."""

    def __init__(self, config: {{class_name}}Config, progress_actor=None):
        self.config = config
        self.progress_actor = progress_actor

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        batch = batch.copy()
        texts = batch["data"].fillna("").astype(str)
        batch[self.config.output_column] = [
            ngram_vector(text, EMBEDDING_DIM, self.config.ngram, self.config.lowercase) for text in texts
        ]
        batch["token_count"] = [len(WORD.findall(text)) for text in texts]
        return batch
