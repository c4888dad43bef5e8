"""Data between steps on two sites that share no files: the plan's copy step, for real.

The two sites are two logins of the test sshd (``eflows`` and ``eflows-ui``, two home
directories): the second step reads the first one's run directory as
``${steps.make.dir}``, which names nothing on its own site, so the plan inserts the copy
``make->ui`` (SFTP from the first login down to this server, sha256 checked, up to the
second, checked again) and the second step reads the copy.
"""

from __future__ import annotations

import pwd
from pathlib import Path

import pytest

from eflows_kernel.events import read_events, validate_event
from eflows_kernel.services.executions import ExecutionState
from eflows_kernel.services.workflows import workflow_from_spec
from tests.deploy.stack import APPS, Stack, seqs_are_gap_free

pytestmark = pytest.mark.timeout(900)

APP = str(APPS / "graph_step.py")
UI_LOGIN = "eflows-ui"


def spec() -> dict:
    return {
        "name": "two-logins",
        "steps": [
            {"name": "make", "application": APP, "environment": "Front",
             "arguments": ["--write", "data.txt", "made by eflows"],
             "options": {"workers": 1}},
            {"name": "read", "application": APP, "environment": "Back",
             "depends_on": ["make"], "options": {"workers": 1},
             "arguments": ["--read", "${steps.make.dir}/data.txt", "--write", "got.txt",
                           "read by eflows-ui: "]},
        ]}


def test_a_later_step_on_another_login_reads_the_copy_of_an_earlier_steps_dir(
        stack: Stack) -> None:
    ui_home = Path(pwd.getpwnam(UI_LOGIN).pw_dir)
    ui = stack.sites.add({"name": "ui", "host": stack.sshd.host, "port": stack.sshd.port,
                          "login": UI_LOGIN, "scheduler": "slurm",
                          "python": {"path": "/usr/bin/python3"},
                          "workdir": "~/eflows-copies"})
    ui = stack.sites.trust(ui.id, stack.sites.scan(ui.id).fingerprint)
    stack.sites.authorize(ui.id, stack.credential, password=stack.sshd.password)
    workflow = stack.registry.register(workflow_from_spec(spec()))
    execution = stack.executor.submit(workflow.id, {}, {"Front": "cluster", "Back": "ui"},
                                      stack.credential)
    final = stack.wait(execution.id, 600)
    steps = {s.name: s for s in stack.executor.steps(execution.id)}
    assert final.state == ExecutionState.DONE, (final.error, steps)
    assert {n: (s.state, s.site) for n, s in steps.items()} == {
        "make": ("done", "cluster"), "make->ui": ("done", "ui"), "read": ("done", "ui")}
    assert steps["read"].depends_on == ("make", "make->ui")

    made = stack.executor.graphs.step_dir(stack.executions.get(steps["make"].execution_id))
    copied = stack.executor.graphs.step_dir(
        stack.executions.get(steps["make->ui"].execution_id))
    assert made.startswith(str(stack.sshd.home)) and copied.startswith(str(ui_home))
    assert (Path(copied) / "data.txt").read_text() == "made by eflows"  # really moved
    read_dir = stack.executor.graphs.step_dir(stack.executions.get(steps["read"].execution_id))
    assert (Path(read_dir) / "got.txt").read_text() == "read by eflows-ui: made by eflows"
    assert "read: 'made by eflows'" in stack.executor.logs(execution.id, step="read")[0]
    assert "sha256 checked" in stack.executor.logs(execution.id, step="make->ui")[0]

    events = read_events(final.event_log)
    seqs_are_gap_free(events)
    for event in events:
        validate_event(event)
    copy = [e for e in events if e.get("step") == "make->ui"]
    moved = [e for e in copy if e["type"] == "transfer" and e["state"] == "done"]
    assert {e["direction"] for e in moved} == {"in", "out"}  # down here, then up there
    assert any(e["type"] == "stage" and e["state"] == "done" and
               (e.get("info") or {}).get("run_dir") == copied for e in copy)
    states = [e["state"] for e in events if e["type"] == "step" and e["step"] == "make->ui"]
    assert "running" in states and states[-1] == "done"
