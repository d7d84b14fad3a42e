"""shared.plugins.inference.batch: base class for batch inference processors (local platform runtime).

`BaseBatchInferenceService` is a processor (a StepDefinition's service_class) with the platform's calling
convention built in: `__init__(config, progress_actor=None)` once, then `__call__(batch)` once per batch,
which calls `process_batch(batch)` and checks the row count. `get_batch_service` gives Mixpeek's built-in
model services (see shared.inference.registry: locally, deterministic stand-in vectors).
"""

import logging
from typing import Any, Optional

from shared.inference.registry import get_batch_service

__all__ = ["BaseBatchInferenceService", "get_batch_service"]


class BaseBatchInferenceService:
    """Subclass it and implement process_batch(self, batch) -> DataFrame (same rows, new columns)."""

    def __init__(self, config: Any = None, progress_actor: Optional[Any] = None):
        self.config = config
        self.progress_actor = progress_actor
        self.logger = logging.getLogger("mixpeek.plugin." + type(self).__name__)
        self._ready = False

    def setup(self) -> None:
        """Load models here: called once, before the first batch."""

    def process_batch(self, batch):
        raise NotImplementedError("%s does not implement process_batch(self, batch)" % type(self).__name__)

    def __call__(self, batch):
        if not self._ready:
            self.setup()
            self._ready = True
        given = len(batch)
        result = self.process_batch(batch)
        if result is None or len(result) != given:
            raise ValueError(
                "%s.process_batch returned %s for a batch of %d rows; return one row per input row"
                % (type(self).__name__, "None" if result is None else "%d rows" % len(result), given)
            )
        return result
