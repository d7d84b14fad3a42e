"""shared.plugins.inference.serve: a plugin's realtime service (local platform runtime).

On Mixpeek, realtime.py holds a subclass of `BaseInferenceService` that Ray Serve hosts at
`/inference/custom_plugin_{plugin_id}`; retrievers call it to embed queries (feature search) or to score.
A subclass implements one of:

    async def run_inference(self, inputs, parameters) -> dict
    async def __call__(self, inputs, parameters) -> dict
    async def _process_single(self, inputs, parameters) -> dict

(`def` without `async` works as well). The default `__call__` calls `run_inference`, whose default calls
`_process_single`. The answer is a dict; an embedding plugin puts its vector under "embedding" and any other
named vectors under their feature_name. `serve_config` says how the platform deploys it; locally it is only
validated.
"""

import inspect
import logging
from typing import Any, Dict, Optional

__all__ = ["BaseInferenceService", "ServeDeploymentConfig", "ENTRY_POINTS"]

#: The methods a service may implement, in the order the platform's dispatch reaches them.
ENTRY_POINTS = ("__call__", "run_inference", "_process_single")


class ServeDeploymentConfig:
    """How the platform deploys the service on Ray Serve."""

    def __init__(
        self,
        enabled: bool = True,
        num_replicas: int = 1,
        max_ongoing_requests: int = 32,
        num_cpus: float = 1.0,
        num_gpus: float = 0.0,
        autoscaling_config: Optional[Dict[str, Any]] = None,
        ray_actor_options: Optional[Dict[str, Any]] = None,
    ):
        for name, value in (("num_replicas", num_replicas), ("max_ongoing_requests", max_ongoing_requests)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError("ServeDeploymentConfig(%s=...) must be a whole number of at least 1, got %r"
                                 % (name, value))
        for name, value in (("num_cpus", num_cpus), ("num_gpus", num_gpus)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError("ServeDeploymentConfig(%s=...) must be a number >= 0, got %r" % (name, value))
        self.enabled = bool(enabled)
        self.num_replicas = num_replicas
        self.max_ongoing_requests = max_ongoing_requests
        self.num_cpus = float(num_cpus)
        self.num_gpus = float(num_gpus)
        self.autoscaling_config = dict(autoscaling_config) if autoscaling_config else None
        self.ray_actor_options = dict(ray_actor_options) if ray_actor_options else None

    def __repr__(self):
        return "ServeDeploymentConfig(enabled=%r, num_replicas=%d)" % (self.enabled, self.num_replicas)


async def _settle(value):
    return await value if inspect.isawaitable(value) else value


class BaseInferenceService:
    """Base class of a plugin's realtime service: build it once, then call it once per request."""

    serve_config = ServeDeploymentConfig()

    def __init__(self, *args: Any, **kwargs: Any):
        self.logger = logging.getLogger("mixpeek.plugin." + type(self).__name__)

    async def __call__(self, inputs: Dict[str, Any], parameters: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        return await _settle(self.run_inference(inputs, parameters or {}))

    async def run_inference(self, inputs: Dict[str, Any], parameters: Dict[str, Any]) -> Dict[str, Any]:
        return await _settle(self._process_single(inputs, parameters))

    async def _process_single(self, inputs: Dict[str, Any], parameters: Dict[str, Any]) -> Dict[str, Any]:
        raise NotImplementedError(
            "%s implements none of run_inference, __call__ or _process_single(self, inputs, parameters)"
            % type(self).__name__
        )

    @classmethod
    def implemented_entry_points(cls):
        """The entry points this subclass overrides (empty: it only inherits the base's dispatch)."""
        return [name for name in ENTRY_POINTS if getattr(cls, name) is not getattr(BaseInferenceService, name)]
