"""shared.inference.registry: Mixpeek's built-in model services (local stand-ins).

On the platform `get_batch_service(name)` hands a plugin one of Mixpeek's hosted models (text, image, audio
embedders) so it can compose them instead of shipping its own. Those models cannot run here. Locally the
service gives **deterministic stand-in vectors** of the model's documented dimension: the same input always
gives the same unit vector, different inputs give unrelated ones. That keeps a plugin's shapes, dimensions
and row counts testable, and it says so: the first use of each model prints one warning line to stderr
(and `mixpeek plugin test` repeats it in its report). An unknown name is an error listing the known ones;
there is no silent fallback.
"""

import hashlib
import struct
import sys
from typing import Any, Dict, Iterable, List, Tuple

__all__ = ["BATCH_SERVICES", "StandInBatchService", "get_batch_service", "list_batch_services"]

#: name -> (dimension, modality, aliases)
BATCH_SERVICES: Dict[str, Tuple[int, str, Tuple[str, ...]]] = {
    "multilingual_e5_large_instruct": (1024, "text", ("intfloat/multilingual-e5-large-instruct", "e5_large", "e5")),
    "bge_m3": (1024, "text", ("BAAI/bge-m3",)),
    "all_minilm_l6_v2": (384, "text", ("sentence-transformers/all-MiniLM-L6-v2", "minilm")),
    "clip_vit_b32": (512, "multimodal", ("openai/clip-vit-base-patch32", "clip")),
    "clip_vit_l14": (768, "multimodal", ("openai/clip-vit-large-patch14",)),
    "siglip_base": (768, "multimodal", ("google/siglip-base-patch16-224", "siglip")),
    "vertex_multimodal": (1408, "multimodal", ("multimodalembedding@001", "vertex_multimodal_embedding")),
    "clap": (512, "audio", ("laion/clap-htsat-unfused",)),
}

_WARNED = set()
#: One line per stand-in model used in this process (read by `mixpeek plugin test` for its report).
NOTICES: List[str] = []


def _resolve(name: str) -> str:
    if name in BATCH_SERVICES:
        return name
    for canonical, (_, _, aliases) in BATCH_SERVICES.items():
        if name in aliases or name.lower() in (a.lower() for a in aliases):
            return canonical
    raise KeyError(
        "get_batch_service(%r): no such built-in service; known: %s" % (name, ", ".join(sorted(BATCH_SERVICES)))
    )


def _unit_vector(model: str, value: Any, dimension: int) -> List[float]:
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
    else:
        raw = str(value).encode("utf-8")
    seed = hashlib.sha256(model.encode("utf-8") + b"\0" + raw).digest()
    numbers: List[float] = []
    counter = 0
    while len(numbers) < dimension:
        block = hashlib.sha256(seed + struct.pack(">I", counter)).digest()
        counter += 1
        for (word,) in struct.iter_unpack(">I", block):
            numbers.append(word / 2147483647.5 - 1.0)
    numbers = numbers[:dimension]
    norm = sum(x * x for x in numbers) ** 0.5 or 1.0
    return [x / norm for x in numbers]


class StandInBatchService:
    """A built-in model service that gives deterministic stand-in vectors (see the module doc)."""

    is_stand_in = True

    def __init__(self, name: str, dimension: int, modality: str):
        self.name = name
        self.dimension = dimension
        self.modality = modality

    def __repr__(self):
        return "<stand-in batch service %s: %d-d>" % (self.name, self.dimension)

    def embed(self, inputs: Iterable[Any]) -> List[List[float]]:
        """One vector of `dimension` numbers per input (text, a URL or bytes)."""
        return [_unit_vector(self.name, value, self.dimension) for value in inputs]

    def __call__(self, batch, input_column: str = "data", output_column: str = "embedding"):
        """A processor: adds `output_column` (one vector per row) computed from `input_column`."""
        if input_column not in batch.columns:
            raise KeyError("%s: the batch has no %r column (columns: %s)" % (self, input_column, list(batch.columns)))
        batch = batch.copy()
        batch[output_column] = self.embed(batch[input_column].tolist())
        return batch


def get_batch_service(name: str, **options: Any) -> StandInBatchService:
    """The built-in service `name` (locally: a stand-in; see the module doc). Options are accepted and ignored."""
    canonical = _resolve(name)
    dimension, modality, _ = BATCH_SERVICES[canonical]
    if canonical not in _WARNED:
        _WARNED.add(canonical)
        line = ("get_batch_service(%r) is a Mixpeek platform model; locally it gives deterministic stand-in "
                "vectors of %d numbers, not real embeddings" % (name, dimension))
        NOTICES.append(line)
        sys.stderr.write("mixpeek: warning: " + line + "\n")
    return StandInBatchService(canonical, dimension, modality)


def list_batch_services() -> Dict[str, int]:
    """Known built-in services and their dimensions."""
    return {name: spec[0] for name, spec in BATCH_SERVICES.items()}
