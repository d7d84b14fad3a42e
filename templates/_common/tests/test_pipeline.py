"""build_steps() and the run loop, on the plugin's own sample data."""

import copy
import json

import pytest
from pydantic import ValidationError

from manifest import InputSchema, OutputSchema
from pipeline import build_steps
from processors.runner import check_steps, run_steps


def test_build_steps_returns_named_callables():
    steps = build_steps()
    assert check_steps(steps) is steps
    assert all(isinstance(step["name"], str) and step["name"] for step in steps)
    assert len({step["name"] for step in steps}) == len(steps)


def test_every_sample_record_runs_end_to_end(sample_records):
    for record in sample_records:
        output = run_steps(build_steps(), record)
        OutputSchema.model_validate(output)
        json.dumps(output)


def test_steps_are_deterministic_and_leave_their_input_alone(sample_records):
    for record in sample_records:
        data = InputSchema.model_validate(record).model_dump()
        for step in build_steps():
            before = copy.deepcopy(data)
            result = step["fn"](data)
            assert data == before, f"step {step['name']!r} changed its input"
            assert step["fn"](copy.deepcopy(before)) == result, f"step {step['name']!r} is not deterministic"
            data = result


def test_invalid_record_is_rejected_before_any_step_runs():
    calls = []
    steps = [{"name": "spy", "fn": lambda data: calls.append(data) or data}]
    with pytest.raises(ValidationError):
        run_steps(steps, {"unexpected": True})
    assert calls == []


@pytest.mark.parametrize(
    "steps",
    [
        [],
        [{"name": "", "fn": dict}],
        [{"name": "a", "fn": dict}, {"name": "a", "fn": dict}],
        [{"name": "a", "fn": "not callable"}],
        ["not a dict"],
    ],
)
def test_malformed_steps_are_refused(steps):
    with pytest.raises((TypeError, ValueError)):
        check_steps(steps)


def test_a_step_must_return_a_dict(sample_records):
    with pytest.raises(TypeError, match="expected a dict"):
        run_steps([{"name": "broken", "fn": lambda data: None}], sample_records[0])
