"""Data between steps on two sites that share no files: the plan's copy step, for real.

The two sites are two logins of the test sshd (``eflows`` and ``eflows-ui``, two home
directories): the second step reads the first one's run directory as
``${steps.make.dir}``, which names nothing on its own site, so the plan inserts the copy
``make->ui`` (streamed through this server: SFTP read on the first login into SFTP write
on the second, both sites' sha256 compared, nothing spooled here) and the second step
reads the copy.
"""

from __future__ import annotations

import pwd
import shutil
import time
import uuid
from pathlib import Path

import pytest

from eflows_kernel.events import read_events, validate_event
from eflows_kernel.services.deploy.site_copies import SiteCopies
from eflows_kernel.services.executions import LOCAL_SITE, ExecutionState
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
    stack.add_login_site("ui", UI_LOGIN, "~/eflows-copies")
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
    moved = [e for e in copy if e["type"] == "transfer"]
    assert moved[-1]["state"] == "done" and {e["direction"] for e in moved} == {"in"}
    done = [e["done_bytes"] for e in moved]
    assert done == sorted(done) and done[-1] == moved[-1]["total_bytes"] > 0
    copy_folder = stack.runs_dir / steps["make->ui"].execution_id
    assert not list(copy_folder.rglob("data.txt*"))  # streamed: never on this disk
    assert any(e["type"] == "stage" and e["state"] == "done" and
               (e.get("info") or {}).get("run_dir") == copied for e in copy)
    states = [e["state"] for e in events if e["type"] == "step" and e["step"] == "make->ui"]
    assert "running" in states and states[-1] == "done"


def _copy_records(stack: Stack, source_site: str, target_site: str) -> tuple:
    workflow = stack.registry.register(workflow_from_spec(
        {"name": f"copy-{uuid.uuid4().hex[:8]}",
         "steps": [{"name": "make", "application": APP}]}))
    source = stack.executions.create(workflow.id, {}, source_site, stack.credential,
                                     step="make")
    copy = stack.executions.create(workflow.id, {}, target_site, stack.credential,
                                   step=f"make->{target_site}")
    return source, copy


def _wait_copy(stack: Stack, execution_id: str, timeout: float = 120.0):
    stack.wait_for_state(execution_id, {"done", "failed", "cancelled"}, timeout)
    return stack.executions.get(execution_id)


def test_copies_to_and_from_the_local_site_stream_and_cancel_mid_file(
        stack: Stack, tmp_path: Path) -> None:
    """The copy step's own runner (no Slurm job): ``local`` is an end like a site, and a
    cancel stops a copy mid-file at once, with no file under its final name."""
    copies = SiteCopies(stack.executions, lambda: stack.sites, stack.runs_dir)
    made = tmp_path / "made"
    (made / "sub").mkdir(parents=True)
    (made / "sub" / "data.txt").write_text("made here")
    source, copy = _copy_records(stack, LOCAL_SITE, "cluster")
    copies.start(copy, source, str(made))
    up = _wait_copy(stack, copy.id)
    assert up.state == ExecutionState.DONE, up.error
    there = Path(stack.executor.graphs.step_dir(up))
    assert there.is_relative_to(stack.sshd.home) and there.name == "made"
    assert (there / "sub" / "data.txt").read_text() == "made here"

    # A DLS SSH2SSH node names its target path (relative: from the login's home), and
    # the files of its source path land in it (the DLS's ssh2ssh DAG replaces the
    # source path by the target path in each name: made/sub/data.txt -> in/sub/data.txt).
    named_source, named = _copy_records(stack, LOCAL_SITE, "cluster")
    shutil.rmtree(stack.sshd.home / "ssh2ssh-target", ignore_errors=True)
    copies.start(named, named_source, str(made), "ssh2ssh-target/in")
    into = _wait_copy(stack, named.id)
    assert into.state == ExecutionState.DONE, into.error
    landed = stack.sshd.home / "ssh2ssh-target" / "in"
    assert Path(stack.executor.graphs.step_dir(into)) == landed
    assert (landed / "sub" / "data.txt").read_text() == "made here"
    assert sorted(p.name for p in landed.iterdir()) == ["sub"]

    back_source, back = _copy_records(stack, "cluster", LOCAL_SITE)
    copies.start(back, back_source, str(there))
    down = _wait_copy(stack, back.id)
    assert down.state == ExecutionState.DONE, down.error
    here = Path(stack.executor.graphs.step_dir(down))
    assert here == stack.runs_dir / back.id / "made"
    assert (here / "sub" / "data.txt").read_text() == "made here"

    huge = there / "huge.bin"
    huge.write_bytes(b"\0" * 150_000_000)
    big_source, big = _copy_records(stack, "cluster", LOCAL_SITE)
    try:
        copies.start(big, big_source, str(huge))
        part = stack.runs_dir / big.id / "huge.bin.part"
        deadline = time.monotonic() + 60
        while not (part.exists() and part.stat().st_size > 0) and time.monotonic() < deadline:
            time.sleep(0.01)
        asked = time.monotonic()
        copies.cancel(stack.executions.get(big.id))
        stopped = _wait_copy(stack, big.id, 30)
    finally:
        huge.unlink()
    assert stopped.state == ExecutionState.CANCELLED
    assert time.monotonic() - asked < 2.0, "a cancel takes effect mid-copy"
    assert not (stack.runs_dir / big.id / "huge.bin").exists() and not part.exists()
    events = read_events(stopped.event_log)
    seqs_are_gap_free(events)
    moved = [e for e in events if e["type"] == "transfer"]
    assert moved[-1]["state"] == "failed" and moved[-1]["done_bytes"] < 150_000_000
