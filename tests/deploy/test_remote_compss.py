"""End to end on the real sshd + Slurm: a site whose runtime is COMPSs.

The site's ``runcompss`` is a fake runtime (tests/compss/fake_runcompss.py, installed in
the ``eflows`` login's home) that writes a real COMPSs graph's monitor files over a few
seconds; everything else is the product: the deployer, the job script, the follow
sidecar in the site's environment, the event tail and the finisher.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from eflows_kernel.events import validate_event
from tests.deploy.stack import APPS, Stack, seqs_are_gap_free
from tests.plugins.cluster import SshdInfo

HERE = Path(__file__).resolve().parent
GRAPH = HERE.parent / "fixtures" / "compss-graphs" / "2_task_groups.dot"
GRAPH_TASKS = 24
HOSTILE = ["; touch /tmp/eflows-compss-pwned-1", "$(touch /tmp/eflows-compss-pwned-2)",
           "`touch /tmp/eflows-compss-pwned-3`", "it's \"quoted\"", "two\nlines", "*"]


@pytest.fixture
def fake_compss(stack: Stack) -> Path:
    """``~eflows/fake-compss/runcompss`` (+ ``-fail`` and ``-slow`` names), the graph next."""
    home = stack.sshd.home
    where = home / "fake-compss"
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir()
    script = where / "fake_runcompss.py"
    shutil.copy(HERE.parent / "compss" / "fake_runcompss.py", script)
    shutil.copy(GRAPH, where / "complete_graph.dot")
    script.chmod(0o755)
    for name in ("runcompss", "runcompss-fail", "runcompss-slow"):
        (where / name).symlink_to(script)
    where.chmod(0o755)
    return where


def chain_workflow(stack: Stack) -> str:
    inputs = [{"name": f"v{i}", "type": "string"} for i in range(len(HOSTILE))]
    return stack.registry.register_spec({
        "name": "chain-compss", "inputs": inputs,
        "steps": [{"name": "chain", "application": str(APPS / "increment_chain.py"),
                   "arguments": ["3", *[f"${{v{i}}}" for i in range(len(HOSTILE))]]}]}).id


def submit(stack: Stack, site: str) -> str:
    return stack.executor.submit(chain_workflow(stack),
                                 {f"v{i}": v for i, v in enumerate(HOSTILE)}, site,
                                 credential_id=stack.credential).id


def run_dir(account: SshdInfo, execution_id: str) -> Path:
    return account.home / "eflows" / "runs" / execution_id


def checked_events(stack: Stack, execution_id: str) -> list[dict]:
    events = stack.executor.events(execution_id)
    seqs_are_gap_free(events)
    for event in events:
        validate_event(event)
    return events


def test_compss_site_runs_runcompss_and_mirrors_its_graph(stack: Stack,
                                                          fake_compss: Path) -> None:
    for n in range(1, 4):
        Path(f"/tmp/eflows-compss-pwned-{n}").unlink(missing_ok=True)
    stack.add_site("compss", scheduler="slurm", runtime="compss",
                   runcompss=str(fake_compss / "runcompss"),
                   python={"path": "/usr/bin/python3"})
    started = time.monotonic()
    execution_id = submit(stack, "compss")
    done = stack.wait(execution_id, timeout=600)
    assert done.state.value == "done", done.error
    states = [c.state.value for c in done.state_history]
    assert "running" in states and states[-1] == "done", states

    events = checked_events(stack, execution_id)
    runs = [e["state"] for e in events if e["type"] == "run"]
    assert runs[0] == "starting" and "running" in runs and runs[-1] == "done", runs
    tasks = [e for e in events if e["type"] == "task"]
    finals = {e["task"]: e["state"] for e in tasks}
    assert len(finals) == GRAPH_TASKS and set(finals.values()) == {"done"}
    names = {e["task"]: e.get("name") for e in tasks if "name" in e}
    assert names[2] == "taskGroups.write_one"
    assert any(e["state"] == "running" and e["worker"] == "COMPSsWorker01" for e in tasks)
    final = [e for e in events if e["type"] == "run"][-1]
    assert final["counts"] == {"done": GRAPH_TASKS}
    assert events.index(final) < next(i for i, e in enumerate(events) if e["type"] == "stage"
                                      and e["stage"] == "stage-out")

    site_run = run_dir(stack.sshd, execution_id)
    dumped = json.loads((site_run / "runcompss_argv.json").read_text())
    assert dumped["app"] == str(site_run / "app" / "increment_chain.py")
    assert dumped["args"] == ["3", *HOSTILE]
    assert dumped["options"]["monitoring"] and dumped["options"]["graph"] == "true"
    assert dumped["options"]["log_dir"].startswith(str(site_run / "compss"))
    for n in range(1, 4):
        assert not Path(f"/tmp/eflows-compss-pwned-{n}").exists(), f"input {n} was executed"
    text, _ = stack.executor.logs(execution_id)
    assert "[fake runcompss]" in text and "runcompss exited with status 0" in text
    print(f"compss e2e done in {time.monotonic() - started:.1f} s")


def test_runcompss_failure_ends_failed_with_its_status(stack: Stack,
                                                      fake_compss: Path) -> None:
    stack.add_site("compss-fail", scheduler="slurm", runtime="compss",
                   runcompss=str(fake_compss / "runcompss-fail"),
                   python={"path": "/usr/bin/python3"})
    execution_id = submit(stack, "compss-fail")
    done = stack.wait(execution_id, timeout=600)
    assert done.state.value == "failed"
    assert "runcompss exited with status 3" in (done.error or ""), done.error
    assert str(run_dir(stack.sshd, execution_id) / "compss") in (done.error or "")
    events = checked_events(stack, execution_id)
    final_runs = [e for e in events if e["type"] == "run"
                  and e["state"] in ("done", "failed", "cancelled")]
    assert len(final_runs) == 1 and final_runs[0]["state"] == "failed"  # the sidecar's
    assert len({e["task"] for e in events if e["type"] == "task"}) == GRAPH_TASKS


def test_cancel_a_compss_run(stack: Stack, fake_compss: Path) -> None:
    stack.add_site("compss-slow", scheduler="slurm", runtime="compss",
                   runcompss=str(fake_compss / "runcompss-slow"),
                   python={"path": "/usr/bin/python3"})
    execution_id = submit(stack, "compss-slow")
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and not any(
            e["type"] == "task" for e in stack.executor.events(execution_id)):
        assert not stack.executions.get(execution_id).finished
        time.sleep(0.2)
    assert stack.executor.cancel(execution_id).state.value == "cancelling"
    done = stack.wait(execution_id, timeout=120)
    assert done.state.value == "cancelled", (done.state, done.error)
    events = checked_events(stack, execution_id)
    assert [e["state"] for e in events if e["type"] == "run"][-1] == "cancelled"
    finals = {e["task"]: e["state"] for e in events if e["type"] == "task"}
    assert "running" not in finals.values() and "pending" not in finals.values()
