"""The realtime service of {{title}} (Enterprise): Mixpeek hosts it on Ray Serve, and retrievers call it,
for instance to embed a search query with the same code that embedded the documents.

It runs the batch processor on a one-row batch built from the request, so realtime and batch answers are
the same; an embedding plugin also returns its vector under "embedding".
"""

from typing import Any, Dict

import pandas as pd
from shared.plugins.inference.serve import BaseInferenceService, ServeDeploymentConfig

from .manifest import {{class_name}}Params, features, output_schema
from .processors.core import {{class_name}}Config, {{class_name}}Processor
from .processors.media import plain, request_row


class {{class_name}}RealtimeService(BaseInferenceService):
    """Answers one request: {"data": text or URL, "mime_type": ...} (or {"text": ...}) plus parameters."""

    serve_config = ServeDeploymentConfig(enabled=True, num_replicas=1)

    def __init__(self):
        super().__init__()
        self._processors = {}

    def _processor(self, parameters: Dict[str, Any]) -> {{class_name}}Processor:
        """One processor per set of parameters, built on first use (model loading belongs here)."""
        params = {{class_name}}Params(**(parameters or {}))
        key = params.model_dump_json()
        if key not in self._processors:
            self._processors[key] = {{class_name}}Processor({{class_name}}Config.from_params(params))
            self.logger.info("built a processor for %s", key)
        return self._processors[key]

    async def run_inference(self, inputs: Dict[str, Any], parameters: Dict[str, Any]) -> Dict[str, Any]:
        batch = pd.DataFrame([request_row(inputs)])
        row = self._processor(parameters)(batch).iloc[0]
        answer = {field: plain(row[field]) for field in output_schema.model_fields if field in row}
        if features:
            answer["embedding"] = answer[features[0]["feature_name"]]
        return answer


__all__ = ["{{class_name}}RealtimeService"]
