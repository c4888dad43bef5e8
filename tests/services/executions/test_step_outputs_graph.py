"""Declared outputs in a step graph across sites: the plan's copy carries only the outputs
its readers name (the whole directory when one names it), and a later step's
``${steps.<s>.outputs.<o>}`` is the output's path in that copy, or on its own site."""

from __future__ import annotations

from pathlib import Path

from eflows_kernel.services.executions.planning import plan_steps
from eflows_kernel.services.workflows import workflow_from_spec
from tests.services.executions.test_graph import (  # noqa: F401 - world is a fixture
    Copier,
    end,
    wait_for,
    world,
)

PLACES = {"alpha": "eflows@hpc:22", "beta": "eflows-ui@hpc:22"}
SPEC = {
    "name": "outputs",
    "inputs": [{"name": "tag", "type": "string", "default": "x"}],
    "steps": [
        {"name": "first", "application": "/a/first.py", "environment": "Front",
         "outputs": {"squares": "results/squares-${tag}.txt", "notes": "notes.txt",
                     "unread": "big/"}},
        {"name": "second", "application": "/a/second.py", "environment": "Back",
         "depends_on": ["first"], "arguments": ["${steps.first.outputs.squares}"]},
        {"name": "third", "application": "/a/third.py", "environment": "Front",
         "depends_on": ["first"], "env": {"NOTES": "${steps.first.outputs.notes}"}},
    ],
}


def plan(spec: dict, values: dict | None = None) -> dict:
    steps = plan_steps("wf", workflow_from_spec(spec), {"Front": "alpha", "Back": "beta"},
                       values if values is not None else {"tag": "x"}, PLACES)
    return {s.name: s for s in steps}


def test_the_copy_carries_only_the_outputs_read_on_its_site() -> None:
    steps = plan(SPEC)
    assert list(steps) == ["first", "first->beta", "second", "third"]
    assert steps["first->beta"].copy_outputs == ("squares",)
    assert steps["second"].depends_on == ("first", "first->beta")
    assert steps["third"].depends_on == ("first",)  # same site: reads it where it is
    assert steps["first"].step.outputs["squares"] == "results/squares-x.txt"


def test_a_reader_of_the_whole_directory_makes_the_copy_carry_it_all() -> None:
    spec = {**SPEC, "steps": [*SPEC["steps"], {
        "name": "fourth", "application": "/a/fourth.py", "environment": "Back",
        "depends_on": ["first"], "arguments": ["${steps.first.dir}/notes.txt"]}]}
    assert plan(spec)["first->beta"].copy_outputs is None
    both = {**SPEC, "steps": [*SPEC["steps"], {
        "name": "fourth", "application": "/a/fourth.py", "environment": "Back",
        "depends_on": ["first"], "arguments": ["${steps.first.outputs.notes}",
                                               "${steps.first.outputs.squares}"]}]}
    assert plan(both)["first->beta"].copy_outputs == ("squares", "notes")


def test_a_later_step_reads_the_output_in_the_copy_on_its_site(
        world, tmp_path: Path) -> None:  # noqa: F811 - the fixture imported above
    service, executor = world()
    copier = Copier(service.store, tmp_path)
    service.graphs.runner._copier = lambda: copier
    executor.places = PLACES
    workflow = service.registry.register(workflow_from_spec(SPEC))
    execution = service.submit(workflow.id, {"tag": "y"}, {"Front": "alpha", "Back": "beta"})
    wait_for(lambda: executor.started)
    before = {s.name: s for s in service.steps(execution.id)}
    assert before["first"].outputs == {"squares": "results/squares-y.txt",
                                       "notes": "notes.txt", "unread": "big"}
    end(service, execution.id, "first", "done")
    wait_for(lambda: len(copier.copies) == 1 and len(executor.started) == 2)
    first = next(c for c in service.store.steps(execution.id) if c.step == "first")
    first_dir = service.graphs.runs_dir / first.id
    assert copier.copies == [("first->beta", "first", str(first_dir))]
    assert copier.only == [("results/squares-y.txt",)]  # not notes, not big/
    third = next(v for name, _, v, _ in executor.started if name == "third")
    assert third["steps.first.outputs.notes"] == f"{first_dir}/notes.txt"
    copy = next(c for c in service.store.steps(execution.id) if c.step == "first->beta")
    copier.finish(copy.id, f"/home/ui/runs/{copy.id}/{first.id}")
    wait_for(lambda: len(executor.started) == 3)
    second = next(v for name, _, v, _ in executor.started if name == "second")
    assert second["steps.first.outputs.squares"] == (
        f"/home/ui/runs/{copy.id}/{first.id}/results/squares-y.txt")
    listed = {s.name: s for s in service.steps(execution.id)}
    assert listed["first"].outputs["squares"] == f"{first_dir}/results/squares-y.txt"
    assert listed["first->beta"].outputs == {
        "squares": f"/home/ui/runs/{copy.id}/{first.id}/results/squares-y.txt"}
    for name in ("second", "third"):
        end(service, execution.id, name, "done")
    assert service.wait(execution.id, 10).state.value == "done"
