"""A step's declared outputs: refused at registration where they are wrong (by field path),
named by later steps only when they wait for the step and it declares them, filled at
trigger still inside the step's run directory; the spec's schema says the same."""

from __future__ import annotations

from typing import Any

import pytest

from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.executions.planning import plan_execution
from eflows_kernel.services.workflows import WorkflowImportError, workflow_from_spec
from eflows_kernel.services.workflows.spec_schema import spec_problems
from eflows_kernel.services.workflows.step_fields import render_step_fields, step_reads


def spec(outputs: dict[str, Any] | None = None, reads: list[str] | None = None,
         depends: bool = True, **second: Any) -> dict[str, Any]:
    return {"name": "pair", "inputs": [{"name": "tag", "type": "string", "default": "a"}],
            "steps": [
                {"name": "first", "application": "/a/first.py",
                 "outputs": {"squares": "results/squares-${tag}.txt", "notes": "notes"}
                 if outputs is None else outputs},
                {"name": "second", "application": "/a/second.py",
                 "depends_on": ["first"] if depends else [],
                 "arguments": reads if reads is not None else [
                     "${steps.first.outputs.squares}"], **second}]}


def refused(text: dict[str, Any]) -> str:
    with pytest.raises(WorkflowImportError) as error:
        workflow_from_spec(text)
    return str(error.value)


def test_declared_outputs_register_and_a_later_step_names_them() -> None:
    workflow = workflow_from_spec(spec(env={"NOTES": "${steps.first.outputs.notes}"}))
    assert workflow.step("first").outputs == {"squares": "results/squares-${tag}.txt",
                                              "notes": "notes"}
    assert step_reads(workflow.step("second")) == {"first": ("squares", "notes")}
    assert spec_problems(spec()) == []


@pytest.mark.parametrize(("outputs", "where", "what"), [
    ({"a.b": "x"}, "steps.first.outputs.a.b", "output name 'a.b' may only contain"),
    ({"-x": "x"}, "steps.first.outputs.-x", "starts with a letter or digit"),
    ({"squares": "/etc/passwd"}, "steps.first.outputs.squares", "'/etc/passwd' is absolute"),
    ({"squares": "~/x"}, "steps.first.outputs.squares", "is absolute"),
    ({"squares": "results/../../x"}, "steps.first.outputs.squares", "climbs out"),
    ({"squares": ".."}, "steps.first.outputs.squares", "climbs out"),
    ({"squares": "./"}, "steps.first.outputs.squares", "names no file below"),
    ({"squares": " "}, "steps.first.outputs.squares", "not empty"),
    ({"squares": "${nope}/x"}, "steps.first.outputs.squares", "'${nope}', which is not a declared"),
    ({"squares": "${steps.first.dir}/x"}, "steps.first.outputs.squares", "inputs only"),
])
def test_a_wrong_output_is_refused_at_registration_by_its_field_path(
        outputs: dict[str, str], where: str, what: str) -> None:
    message = refused(spec(outputs, reads=[]))
    assert f"{where}: " in message and what in message, message


@pytest.mark.parametrize(("second", "where", "what"), [
    ({"reads": ["${steps.first.outputs.cubes}"]}, "steps.second.arguments[0]",
     "step 'first' declares no output 'cubes' (its outputs: notes, squares)"),
    ({"reads": ["${steps.first.outputs.squares}"], "depends": False},
     "steps.second.arguments[0]", "step 'second' does not wait for a step named 'first'"),
    ({"reads": [], "env": {"X": "${steps.third.outputs.a}"}}, "steps.second.env.X",
     "does not wait for a step named 'third'"),
    ({"reads": [], "options": {"workers": "${steps.first.outputs.none}"}},
     "steps.second.options.workers", "declares no output 'none'"),
])
def test_a_reference_to_an_output_not_waited_for_or_not_declared_is_refused(
        second: dict[str, Any], where: str, what: str) -> None:
    reads, depends = second.pop("reads"), second.pop("depends", True)
    message = refused(spec(reads=reads, depends=depends, **second))
    assert f"{where}: " in message and what in message, message


def test_a_step_with_no_outputs_says_so() -> None:
    assert "(its outputs: none)" in refused(spec({}))


def test_the_schema_the_api_serves_refuses_them_at_their_place() -> None:
    bad_name = spec_problems(spec({"a.b": "x"}, reads=[]))
    assert any(p.startswith("steps.0.outputs: ") and "'a.b'" in p for p in bad_name), bad_name
    for path in ("/etc/passwd", "a/../../b", "..", "./", "~/x"):
        problems = spec_problems(spec({"squares": path}, reads=[]))
        assert any(p.startswith("steps.0.outputs.squares: ") for p in problems), (path,
                                                                                 problems)
    assert spec_problems(spec({"squares": "a/b..c/${tag}"}, reads=[])) == []


def test_outputs_are_filled_at_trigger_and_must_stay_in_the_run_directory() -> None:
    workflow = workflow_from_spec(spec())
    filled = render_step_fields(workflow.step("first"), {"tag": "x"})
    assert filled.outputs == {"squares": "results/squares-x.txt", "notes": "notes"}
    plan = plan_execution("wf", workflow, {"tag": "b"}, "local")
    assert plan.step("first").step.outputs["squares"] == "results/squares-b.txt"
    # the reference is filled when the step starts (where the output is then known)
    assert plan.step("second").step.arguments == ["${steps.first.outputs.squares}"]
    with pytest.raises(ValidationError) as error:
        plan_execution("wf", workflow_from_spec(spec({"squares": "${tag}/x"})),
                       {"tag": "/etc"}, "local")
    fields = error.value.details["fields"]
    assert "is absolute" in fields["steps.first.outputs.squares"]
    with pytest.raises(ValidationError) as error:
        plan_execution("wf", workflow_from_spec(spec({"squares": "a/${tag}/x"})),
                       {"tag": "../.."}, "local")
    assert "climbs out" in error.value.details["fields"]["steps.first.outputs.squares"]


def test_a_step_reads_a_whole_directory_or_only_outputs() -> None:
    workflow = workflow_from_spec(spec(reads=["${steps.first.outputs.squares}",
                                              "${steps.first.dir}/x"]))
    assert step_reads(workflow.step("second")) == {"first": None}
