"""A step's declared output read by a later step on another login, for real.

Two sites on the test sshd, two logins (``eflows`` and ``eflows-ui``: two home
directories, no file of one seen by the other), each step a Slurm job running a
PyCOMPSs app (``tests/apps/step_outputs.py``: FILE_OUT tasks write the first step's
files, FILE_IN tasks of the second read one). The second step names the first's output
as ``${steps.first.outputs.squares}``: the plan's copy ``first->ui`` brings that file,
and only it, to the second login (streamed through this server, sha256 checked), and
the reference names it there. A declared output the first step did not write fails
that step, naming it and its path, and nothing after it starts.
"""

from __future__ import annotations

import pwd
import uuid
from pathlib import Path

import pytest

from eflows_kernel.events import read_events, validate_event
from eflows_kernel.services.executions import ExecutionState
from eflows_kernel.services.workflows import workflow_from_spec
from tests.deploy.stack import APPS, Stack, seqs_are_gap_free, step_result

pytestmark = pytest.mark.timeout(900)

APP = str(APPS / "step_outputs.py")
UI_LOGIN = "eflows-ui"
ONE_CPU = {"workers": 1}


def spec(declared: str) -> dict:
    return {
        "name": f"hand-over-{uuid.uuid4().hex[:8]}",
        "steps": [
            {"name": "first", "application": APP, "environment": "Front", "options": ONE_CPU,
             "arguments": ["produce", "results/squares.txt", "notes.txt", "6"],
             "outputs": {"squares": declared, "notes": "notes.txt"}},
            {"name": "second", "application": APP, "environment": "Back", "options": ONE_CPU,
             "depends_on": ["first"],
             "arguments": ["consume", "${steps.first.outputs.squares}", "result/sum.txt"]},
        ]}


@pytest.fixture
def two_logins(stack: Stack) -> Stack:
    stack.add_login_site("ui", UI_LOGIN, "~/eflows-outputs")
    return stack


def trigger(stack: Stack, declared: str) -> str:
    workflow = stack.registry.register(workflow_from_spec(spec(declared)))
    return stack.executor.submit(workflow.id, {}, {"Front": "cluster", "Back": "ui"},
                                 stack.credential).id


def step_dir(stack: Stack, execution_id: str | None) -> str:
    assert execution_id is not None
    return stack.executor.graphs.step_dir(stack.executions.get(execution_id))


def test_a_later_step_on_another_login_reads_a_declared_output_by_its_name(
        two_logins: Stack) -> None:
    stack = two_logins
    execution_id = trigger(stack, "results/squares.txt")
    final = stack.wait(execution_id, 600)
    steps = {s.name: s for s in stack.executor.steps(execution_id)}
    assert final.state == ExecutionState.DONE, (final.error, steps)
    assert {n: (s.state, s.site) for n, s in steps.items()} == {
        "first": ("done", "cluster"), "first->ui": ("done", "ui"), "second": ("done", "ui")}
    assert steps["second"].depends_on == ("first", "first->ui")

    made = step_dir(stack, steps["first"].execution_id)
    copied = step_dir(stack, steps["first->ui"].execution_id)
    ui_home = Path(pwd.getpwnam(UI_LOGIN).pw_dir)
    assert made.startswith(str(stack.sshd.home)) and copied.startswith(str(ui_home))
    assert (Path(made) / "scratch.txt").is_file() and (Path(made) / "notes.txt").is_file()
    # Only the output the second step names was carried: not notes.txt (declared, not
    # read there), not scratch.txt, not the job's own logs.
    assert sorted(str(p.relative_to(copied)) for p in Path(copied).rglob("*")
                  if p.is_file()) == ["results/squares.txt"]
    assert (Path(copied) / "results/squares.txt").read_text() == (
        Path(made) / "results/squares.txt").read_text() == "1\n4\n9\n16\n25\n36\n"

    read_dir = step_dir(stack, steps["second"].execution_id)
    assert read_dir.startswith(str(ui_home))
    assert (Path(read_dir) / "result/sum.txt").read_text() == "sum of 6 squares: 91\n"
    assert step_result(stack, execution_id, "second") == {"count": 6, "sum": 91}
    log = stack.executor.logs(execution_id, step="second")[0]
    assert f"reading {copied}/results/squares.txt" in log  # the reference, rendered there
    assert steps["first"].outputs == {"squares": f"{made}/results/squares.txt",
                                      "notes": f"{made}/notes.txt"}
    assert steps["first->ui"].outputs == {"squares": f"{copied}/results/squares.txt"}
    assert "sha256 checked" in stack.executor.logs(execution_id, step="first->ui")[0]

    events = read_events(final.event_log)
    seqs_are_gap_free(events)
    for event in events:
        validate_event(event)
    moved = [e for e in events if e.get("step") == "first->ui" and e["type"] == "transfer"]
    assert moved[-1]["state"] == "done"
    assert moved[-1]["done_bytes"] == moved[-1]["total_bytes"] == len("1\n4\n9\n16\n25\n36\n")


def test_a_declared_output_the_step_did_not_write_fails_it_and_cancels_the_next(
        two_logins: Stack) -> None:
    stack = two_logins
    execution_id = trigger(stack, "results/cubes.txt")  # the app writes squares.txt
    final = stack.wait(execution_id, 600)
    assert final.state == ExecutionState.FAILED
    steps = {s.name: s for s in stack.executor.steps(execution_id)}
    assert {n: s.state for n, s in steps.items()} == {
        "first": "failed", "first->ui": "cancelled", "second": "cancelled"}
    assert steps["first"].job_id is not None  # its job ran, and completed
    assert steps["first->ui"].execution_id is None and steps["second"].execution_id is None
    made = step_dir(stack, steps["first"].execution_id)
    assert (Path(made) / "results/squares.txt").is_file()  # what it did write
    assert steps["first"].error == (
        f"step 'first' ended but did not write its declared output 'squares' "
        f"({made}/results/cubes.txt) on site 'cluster': the steps that read it cannot run")
    assert "step first failed" in final.error and f"{made}/results/cubes.txt" in final.error

    events = read_events(final.event_log)
    seqs_are_gap_free(events)
    first = [e for e in events if e.get("step") == "first"]
    assert any(e["type"] == "stage" and e["stage"] == "stage-out" and
               e["state"] == "failed" and "'squares'" in (e.get("detail") or "")
               for e in first)
    # The step failed, and so did its run: its end is not the job's own "done" (the
    # job completed) but failed, naming the output.
    runs = [e for e in first if e["type"] == "run"]
    assert [e["state"] for e in runs if e["state"] in ("done", "failed")] == ["failed"], runs
    assert "'squares'" in runs[-1]["error"] and f"{made}/results/cubes.txt" in runs[-1]["error"]
    states = {e["step"]: e["state"] for e in events if e["type"] == "step"}
    assert states == {"first": "failed", "first->ui": "cancelled", "second": "cancelled"}
