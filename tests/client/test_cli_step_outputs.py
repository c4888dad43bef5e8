"""Where a step's declared outputs are shown: `executions status` of a step graph, and
the Workflows widget's details pane."""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from eflows_kernel.cli.executions import cmd_executions_status
from eflows_kernel.services.executions import Execution, ExecutionState


def test_status_lists_each_steps_declared_outputs(capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    graph = Execution(id="g1", workflow_id="w1", site="front", credential_id=None, inputs={},
                      state=ExecutionState.DONE, state_history=[], outputs={},
                      remote_job_id=None, event_log=None, event_seq=0, error=None,
                      created_at=now, updated_at=now,
                      step_sites={"make": "front", "make->back": "back", "read": "back"})
    steps = [
        {"name": "make", "site": "front", "state": "done", "job_id": "7", "depends_on": [],
         "outputs": {"squares": "/home/a/runs/m/results/squares.txt"}},
        {"name": "make->back", "site": "back", "state": "done", "job_id": None,
         "depends_on": ["make"], "outputs": {"squares": "/home/b/runs/c/m/results/squares.txt"}},
        {"name": "read", "site": "back", "state": "done", "job_id": "8",
         "depends_on": ["make", "make->back"], "outputs": {}}]
    client = SimpleNamespace(executions=SimpleNamespace(get=lambda _id: graph,
                                                        steps=lambda _id: steps))
    assert cmd_executions_status(client, argparse.Namespace(  # type: ignore[arg-type]
        id="g1", json=False)) == 0
    shown = capsys.readouterr().out.split("declared outputs:\n", 1)[1]
    rows = [re.split(r"\s{2,}", line.strip()) for line in shown.splitlines()]
    assert rows == [["STEP", "OUTPUT", "PATH"],
                    ["make", "squares", "/home/a/runs/m/results/squares.txt"],
                    ["make->back", "squares", "/home/b/runs/c/m/results/squares.txt"]]


def test_the_workflow_details_pane_shows_a_steps_declared_outputs() -> None:
    from eflows_kernel.services.workflows import workflow_from_spec
    from eflows_kernel.ui.workflows import workflow_details_html

    workflow = workflow_from_spec({"name": "w", "steps": [
        {"name": "make", "application": "a.py", "outputs": {"squares": "results/<s>.txt"}}]})
    html = workflow_details_html(SimpleNamespace(workflow=workflow, version="1", id="i1"))
    assert "(outputs: <code>squares</code> results/&lt;s&gt;.txt)" in html
