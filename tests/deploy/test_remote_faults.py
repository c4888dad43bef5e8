"""Faults on the real cluster: each ends the way a user can understand and act on."""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from eflows_kernel.services.errors import ConflictError, ValidationError
from tests.deploy.stack import APPS, Stack, seqs_are_gap_free, sleep_spec, wordcount_spec
from tests.plugins.cluster import CLUSTER, seed_authorized_keys

HOSTILE = ["; touch /tmp/eflows-pwned-1", "$(touch /tmp/eflows-pwned-2)",
           "`touch /tmp/eflows-pwned-3`", "it's \"quoted\" 'twice'",
           "line one\nline two; touch /tmp/eflows-pwned-4", "--workers=99", "*", "~", "a\\b"]


def test_hostile_inputs_reach_the_application_as_text(stack: Stack, tmp_path: Path) -> None:
    for n in range(1, 5):
        Path(f"/tmp/eflows-pwned-{n}").unlink(missing_ok=True)
    inputs = [{"name": f"v{i}", "type": "string"} for i in range(len(HOSTILE))]
    workflow = stack.registry.register_spec({
        "name": "echo", "inputs": inputs,
        "steps": [{"name": "echo", "application": str(APPS / "echo_args.py"),
                   "arguments": ["args.json", *[f"${{v{i}}}" for i in range(len(HOSTILE))]]}],
        "data_movements": [{"name": "args", "direction": "out", "kind": "local",
                            "source": "args.json"}]})
    execution = stack.executor.submit(workflow.id, {f"v{i}": v for i, v in enumerate(HOSTILE)},
                                      "cluster", credential_id=stack.credential)
    done = stack.wait(execution.id)
    assert done.state.value == "done", done.error
    assert json.loads(Path(done.outputs["args"]["path"]).read_text()) == HOSTILE
    for n in range(1, 5):
        assert not Path(f"/tmp/eflows-pwned-{n}").exists(), f"input {n} was executed"


def wait_for_event(stack: Stack, execution_id: str, matches: Callable[[dict], bool],
                   timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(matches(e) for e in stack.executor.events(execution_id)):
            return
        time.sleep(0.1)
    raise AssertionError(f"no such event in {execution_id} after {timeout} s")


def test_cancel_a_running_job(stack: Stack) -> None:
    workflow = stack.registry.register_spec(sleep_spec())
    execution = stack.executor.submit(workflow.id, {}, "cluster",
                                      credential_id=stack.credential)
    wait_for_event(stack, execution.id, lambda e: e["type"] == "task"
                   and e["state"] == "running")
    cancelling = stack.executor.cancel(execution.id)
    assert cancelling.state.value == "cancelling"
    done = stack.wait(execution.id, timeout=120)
    assert done.state.value == "cancelled", (done.state, done.error)
    assert [c.state.value for c in done.state_history][-2:] == ["cancelling", "cancelled"]
    job = subprocess.run(["squeue", "-h", "-j", done.remote_job_id or "", "-o", "%T"],
                         capture_output=True, text=True)
    assert job.stdout.strip() in ("", "CANCELLED", "COMPLETING"), job.stdout
    events = stack.executor.events(execution.id)
    seqs_are_gap_free(events)
    assert [e["state"] for e in events if e["type"] == "run"][-1] == "cancelled"
    last = {e["task"]: e["state"] for e in events if e["type"] == "task"}
    assert last and set(last.values()) == {"cancelled"}, last  # none left "running"


def test_job_killed_outside_fails_with_slurms_reason(stack: Stack) -> None:
    workflow = stack.registry.register_spec(sleep_spec())
    execution = stack.executor.submit(workflow.id, {}, "cluster",
                                      credential_id=stack.credential)
    running = stack.wait_for_state(execution.id, {"running"})
    subprocess.run(["scancel", running.remote_job_id or ""], check=True)  # an administrator
    done = stack.wait(execution.id, timeout=120)
    assert done.state.value == "failed"
    assert "cancelled outside eflows" in (done.error or ""), done.error
    events = stack.executor.events(execution.id)
    seqs_are_gap_free(events)
    final = [e for e in events if e["type"] == "run"][-1]
    assert final["state"] == "failed" and "outside eflows" in final["error"]


def test_sshd_restart_during_a_run_loses_no_event(stack: Stack) -> None:
    workflow = stack.registry.register_spec(sleep_spec())
    execution = stack.executor.submit(workflow.id, {"n": 6, "seconds": 2.0}, "cluster",
                                      credential_id=stack.credential)
    stack.wait_for_state(execution.id, {"running"})
    time.sleep(1.0)
    subprocess.run(["bash", str(CLUSTER / "setup_sshd.sh"), "restart"], check=True,
                   capture_output=True, timeout=120)
    done = stack.wait(execution.id, timeout=300)
    assert done.state.value == "done", done.error
    events = stack.executor.events(execution.id)
    seqs_are_gap_free(events)  # no gap, and no duplicate either
    assert len({e["seq"] for e in events}) == len(events)
    tasks_done = {e["task"] for e in events if e["type"] == "task" and e["state"] == "done"}
    assert len(tasks_done) == 6


def test_server_restart_reattaches_and_the_run_completes(stack: Stack,
                                                          text_folder: Path) -> None:
    workflow = stack.registry.register_spec(sleep_spec())
    execution = stack.executor.submit(workflow.id, {"n": 2, "seconds": 8.0}, "cluster",
                                      credential_id=stack.credential)
    stack.wait_for_state(execution.id, {"running"})
    stack.executor.shutdown()  # the server stops; the job goes on
    seen = len(stack.executor.events(execution.id))
    time.sleep(1.0)
    assert not stack.executions.get(execution.id).finished
    stack.executor = stack.new_executor()  # the server starts again
    stack.executor.recover()
    done = stack.wait(execution.id, timeout=180)
    assert done.state.value == "done", done.error
    events = stack.executor.events(execution.id)
    seqs_are_gap_free(events)
    assert len(events) > seen
    assert [e["state"] for e in events if e["type"] == "run"][-1] == "done"
    # Every event the run wrote on the site is here, unchanged, none taken by another.
    remote_log = stack.sshd.home / "eflows" / "runs" / execution.id / "events.jsonl"
    remote = [json.loads(line) for line in remote_log.read_text().splitlines()]
    by_seq = {e["seq"]: e for e in events}
    assert [by_seq.get(e["seq"]) for e in remote] == remote


def test_missing_stage_in_source_is_refused_before_anything(stack: Stack,
                                                             tmp_path: Path) -> None:
    workflow = stack.registry.register_spec(wordcount_spec())
    with pytest.raises(ValidationError) as caught:
        stack.executor.submit(workflow.id, {"texts": str(tmp_path / "nope")}, "cluster",
                              credential_id=stack.credential)
    assert "does not exist on this machine" in caught.value.message
    assert "texts" in caught.value.details["fields"]
    assert stack.executions.list().total == 0


def test_missing_cluster_path_fails_before_submission(stack: Stack) -> None:
    workflow = stack.registry.register_spec(wordcount_spec())
    execution = stack.executor.submit(workflow.id, {"texts": "cluster:/no/such/dir"},
                                      "cluster", credential_id=stack.credential)
    done = stack.wait(execution.id)
    assert done.state.value == "failed"
    assert "/no/such/dir does not exist on site 'cluster'" in (done.error or "")
    assert done.remote_job_id is None


def test_unauthorized_credential_fails_before_submission(stack: Stack,
                                                         text_folder: Path) -> None:
    seed_authorized_keys(stack.sshd, "")  # the key was removed on the cluster
    workflow = stack.registry.register_spec(wordcount_spec())
    execution = stack.executor.submit(workflow.id, {"texts": str(text_folder)}, "cluster",
                                      credential_id=stack.credential)
    done = stack.wait(execution.id)
    assert done.state.value == "failed"
    assert "Authorize the credential on site 'cluster'" in (done.error or ""), done.error
    assert done.remote_job_id is None


def test_changed_host_key_fails_before_sending_anything(stack: Stack, text_folder: Path,
                                                       rotated_host_key: None) -> None:
    # ``rotated_host_key`` comes after ``stack``: the site was trusted with the old key.
    workflow = stack.registry.register_spec(wordcount_spec())
    execution = stack.executor.submit(workflow.id, {"texts": str(text_folder)}, "cluster",
                                      credential_id=stack.credential)
    done = stack.wait(execution.id)
    assert done.state.value == "failed"
    assert "host key" in (done.error or "") and "Nothing was sent" in (done.error or "")
    assert done.remote_job_id is None
    events = stack.executor.events(execution.id)
    assert [(e["stage"], e["state"]) for e in events if e["type"] == "stage"][-1] == \
        ("connect", "failed")


def test_a_run_has_one_follower(stack: Stack) -> None:
    """A second process on the same state (a script's client beside the server) neither
    copies nor cancels a run the first follows; it takes over once the first is gone."""
    workflow = stack.registry.register_spec(sleep_spec())
    execution = stack.executor.submit(workflow.id, {"n": 2, "seconds": 6.0}, "cluster",
                                      credential_id=stack.credential)
    stack.wait_for_state(execution.id, {"running"})
    second = stack.new_executor()
    try:
        second.recover()
        assert execution.id not in second._deployments
        with pytest.raises(ConflictError, match="followed by another process"):
            second.cancel(execution.id)
        assert stack.executions.get(execution.id).state.value == "running"
        stack.executor.shutdown()  # the first one goes away; its run goes on
        second.recover()
        assert execution.id in second._deployments
        stack.executor = second
        done = stack.wait(execution.id, timeout=180)
    finally:
        second.shutdown()
    assert done.state.value == "done", done.error
    events = stack.executor.events(execution.id)
    seqs_are_gap_free(events)
    states = [c.state.value for c in done.state_history]
    assert all(a != b for a, b in itertools.pairwise(states)), states
