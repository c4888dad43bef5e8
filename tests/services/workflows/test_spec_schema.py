"""The workflow spec's JSON Schema: it accepts what registration accepts and names what
is wrong, at its place, for what it refuses."""

from __future__ import annotations

import pytest

from eflows_kernel.services.workflows.register import workflow_from_spec
from eflows_kernel.services.workflows.spec_schema import spec_problems, workflow_spec_schema

GOOD = [
    {"name": "hello"},
    {"name": "wc", "inputs": [{"name": "texts", "type": "path"}],
     "steps": [{"name": "count", "application": "wc.py", "arguments": ["${texts}"]}],
     "data_movements": [{"name": "counts", "direction": "out", "kind": "local",
                         "source": "counts.json"}]},
    {"name": "m", "inputs": {"n": {"type": "integer", "default": 3, "required": False}},
     "steps": [{"name": "s", "application": "a.py", "arguments": ["${n}"]}]},
]


@pytest.mark.parametrize("spec", GOOD)
def test_what_registers_fits_the_schema(spec: dict) -> None:
    workflow_from_spec(spec)
    assert spec_problems(spec) == []


@pytest.mark.parametrize(("spec", "problem"), [
    ({"steps": []}, "spec: 'name' is a required property"),
    ({"name": "x", "colour": "red"}, "('colour' was unexpected)"),
    ({"name": "x", "inputs": [{"name": "n", "type": "int"}]}, "inputs.0.type: 'int' is not one of"),
    ({"name": "x", "inputs": {"n": {"type": "int"}}}, "inputs.n.type: 'int' is not one of"),
    ({"name": "x", "steps": [{"name": "s"}]}, "steps.0: 'application' is a required property"),
    ({"name": "x", "data_movements": [{"name": "d", "direction": "sideways", "kind": "local",
                                       "source": "a"}]}, "data_movements.0.direction"),
])
def test_what_is_refused_is_named_where_it_is(spec: dict, problem: str) -> None:
    problems = spec_problems(spec)
    assert any(problem in p for p in problems), problems


def test_the_schema_is_a_copy_and_a_2020_12_schema() -> None:
    schema = workflow_spec_schema()
    assert schema["$schema"].endswith("2020-12/schema") and "source" not in schema["properties"]
    schema["properties"].clear()
    assert workflow_spec_schema()["properties"]
