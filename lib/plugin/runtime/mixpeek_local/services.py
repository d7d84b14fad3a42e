"""Finding, building and calling a plugin's realtime service (realtime.py), as Ray Serve would."""

import asyncio
import inspect
from typing import Any, Dict, List, Optional

from shared.plugins.inference.serve import BaseInferenceService

__all__ = ["call_service", "find_service_classes", "invoke_service"]


def find_service_classes(module) -> List[type]:
    """The BaseInferenceService subclasses of a realtime module: its own first (in `__all__` order, then in
    definition order), then imported ones (a plugin may re-export a shared service)."""
    found = []
    for value in vars(module).values():
        if inspect.isclass(value) and issubclass(value, BaseInferenceService) and value is not BaseInferenceService:
            if value not in found:
                found.append(value)
    exported = list(getattr(module, "__all__", []) or [])

    def order(cls):
        own = cls.__module__ == module.__name__
        listed = exported.index(cls.__name__) if cls.__name__ in exported else len(exported)
        try:
            line = inspect.getsourcelines(cls)[1]
        except (OSError, TypeError):
            line = 0
        return (0 if own else 1, listed, line)

    return sorted(found, key=order)


async def invoke_service(service: Any, inputs: Dict[str, Any], parameters: Optional[Dict[str, Any]] = None) -> Any:
    """One request on the running event loop: `await service(inputs, parameters)`, as a Ray Serve replica
    calls it (a sync service works too). mixpeek local's deployment workers await this, concurrently."""
    result = service(inputs, parameters or {})
    return await result if inspect.isawaitable(result) else result


def call_service(service: Any, inputs: Dict[str, Any], parameters: Optional[Dict[str, Any]] = None) -> Any:
    """One request: invoke_service on a fresh event loop (the harness, tests)."""
    return asyncio.run(invoke_service(service, inputs, parameters))
