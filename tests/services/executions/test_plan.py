"""The plan of an execution: inputs checked once, steps chosen once, a DAG of steps."""

from __future__ import annotations

import pytest

from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.executions.plan import (
    ExecutionPlan,
    StepPlan,
    plan_execution,
    plan_steps,
    render_step,
)
from eflows_kernel.services.workflows import Step, workflow_from_spec

SPEC = {"name": "two", "inputs": [{"name": "n", "type": "integer"},
                                  {"name": "out", "type": "path", "required": False}],
        "steps": [{"name": "first", "application": "/a/first.py", "arguments": ["${n}"]},
                  {"name": "second", "application": "/a/${n}.py", "depends_on": ["first"]}]}


def test_inputs_are_checked_and_typed_once() -> None:
    plan = plan_execution("wf-id", workflow_from_spec(SPEC), {"n": "3"}, "local")
    assert plan.values == {"n": 3} and plan.workflow_id == "wf-id"
    with pytest.raises(ValidationError) as refused:
        plan_execution("wf-id", workflow_from_spec(SPEC), {"n": "many", "zz": 1}, "local")
    assert set(refused.value.details["fields"]) == {"n", "zz"}


def test_the_plan_holds_every_step_on_the_requested_site() -> None:
    plan = plan_execution("wf-id", workflow_from_spec(SPEC), {"n": 1}, "cluster")
    assert [(s.name, s.site, s.depends_on) for s in plan.steps] == [
        ("first", "cluster", ()), ("second", "cluster", ("first",))]
    assert plan.entry is plan.steps[0] and plan.is_graph


def test_a_workflow_without_steps_cannot_run() -> None:
    with pytest.raises(ValidationError, match="has no step to run") as refused:
        plan_steps("wf-id", workflow_from_spec({"name": "empty"}), "local")
    assert refused.value.details["id"] == "wf-id"


def test_ready_steps_follow_their_dependencies() -> None:
    def step(name: str, *after: str) -> StepPlan:
        return StepPlan(name, "local", Step(name=name, application="/x.py"), after)

    plan = ExecutionPlan("wf", workflow_from_spec({"name": "w"}), {}, (
        step("stage-in"), step("build"), step("run", "stage-in", "build"),
        step("stage-out", "run")))
    assert [s.name for s in plan.ready(())] == ["stage-in", "build"]
    assert [s.name for s in plan.ready({"stage-in"})] == ["build"]
    assert [s.name for s in plan.ready({"stage-in", "build"})] == ["run"]
    assert [s.name for s in plan.ready({"stage-in", "build", "run"})] == ["stage-out"]
    assert plan.ready({"stage-in", "build", "run", "stage-out"}) == []
    assert plan.entry.name == "stage-in"


def test_rendering_names_the_unknown_input() -> None:
    first, second = workflow_from_spec(SPEC).steps
    assert render_step(first, {"n": 2}) == ("/a/first.py", ["2"])
    assert render_step(second, {"n": 2}, {"n": 9}) == ("/a/2.py", [])
    with pytest.raises(ValidationError) as refused:
        render_step(first, {})
    assert "n" in refused.value.details["fields"]
