"""Runs a list of steps on one record exactly the way Mixpeek does.

    data = InputSchema.model_validate(record).model_dump()
    for step in steps: data = step["fn"](data)
    OutputSchema.model_validate(data)

The tests, realtime.py (when present) and `mixpeek plugin test --sample-data` all follow this loop.
Keys a step adds that OutputSchema does not declare are dropped at the end.
"""

from typing import Any, Dict, List

from manifest import InputSchema, OutputSchema


def check_steps(steps: Any) -> List[Dict[str, Any]]:
    """Return `steps` if it is a non-empty list of {"name": unique non-empty str, "fn": callable}."""
    if not isinstance(steps, list) or not steps:
        raise ValueError("build_steps() must return a non-empty list of steps")
    seen = set()
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            raise TypeError(f"step {index} is a {type(step).__name__}, expected a dict")
        name = step.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"step {index} needs a non-empty string 'name'")
        if name in seen:
            raise ValueError(f"two steps are named {name!r}; step names must be unique")
        if not callable(step.get("fn")):
            raise TypeError(f"step {name!r} needs a callable 'fn'")
        seen.add(name)
    return steps


def run_steps(steps: List[Dict[str, Any]], record: Dict[str, Any]) -> Dict[str, Any]:
    """Validate `record`, pass it through every step in order, and return the validated output as a dict."""
    check_steps(steps)
    data = InputSchema.model_validate(record).model_dump()
    for step in steps:
        data = step["fn"](data)
        if not isinstance(data, dict):
            raise TypeError(f"step {step['name']!r} returned {type(data).__name__}, expected a dict")
    return OutputSchema.model_validate(data).model_dump(mode="json")
