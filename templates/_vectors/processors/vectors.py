"""Small, real embeddings with no model download: hashed character n-grams for text, a colour histogram
for images. Both are unit vectors (cosine distance), deterministic, and cheap enough for CPU workers.

Replace them with your model (sentence-transformers, CLIP, ...) and keep the contract: one vector of
`embedding_dim` numbers per row, the size declared in manifest.features.
"""

import hashlib
import math
import re
from typing import List

import numpy as np

WORD = re.compile(r"\w+", re.UNICODE)


def normalize(vector: List[float]) -> List[float]:
    """The vector scaled to length 1 (all zeros stays all zeros)."""
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm else list(vector)


def ngram_vector(text: str, dim: int, n: int = 3, lowercase: bool = True) -> List[float]:
    """Hashed character n-grams of each word (padded with spaces), signed into `dim` buckets: texts that
    share spelling point the same way, whatever their length."""
    if lowercase:
        text = text.lower()
    vector = [0.0] * dim
    for word in WORD.findall(text):
        padded = " %s " % word
        for start in range(max(1, len(padded) - n + 1)):
            gram = padded[start:start + n].encode("utf-8")
            digest = hashlib.blake2b(gram, digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "big") % dim
            vector[bucket] += 1.0 if digest[4] & 1 else -1.0
    return normalize(vector)


def color_histogram(path: str, bins: int = 4, thumbnail: int = 64) -> List[float]:
    """A joint RGB histogram of `bins`³ cells over a thumbnail of the image, as a unit vector."""
    from PIL import Image  # only image plugins need Pillow (manifest.dependencies says so)

    with Image.open(path) as image:
        image = image.convert("RGB")
        image.thumbnail((thumbnail, thumbnail))
        pixels = np.asarray(image, dtype=np.uint16).reshape(-1, 3)
    cells = (pixels * bins // 256).astype(np.int64)
    index = (cells[:, 0] * bins + cells[:, 1]) * bins + cells[:, 2]
    counts = np.bincount(index, minlength=bins ** 3).astype(float)
    return normalize(counts.tolist())
