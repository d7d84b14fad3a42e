"""Realtime entry point: Mixpeek calls handle() once per request when the plugin is deployed for realtime.

The request body is one input record. It goes through the same loop as batch processing:
InputSchema validation, every step of build_steps() in order, OutputSchema validation.
An invalid request raises pydantic.ValidationError (a ValueError), which the platform reports to the caller.
"""

from typing import Any, Dict

from pipeline import build_steps
from processors.runner import check_steps, run_steps

STEPS = check_steps(build_steps())  # built once per process, not per request


def handle(request: Dict[str, Any]) -> Dict[str, Any]:
    """Process one request and return the plugin's output as a JSON-ready dict."""
    return run_steps(STEPS, request)
