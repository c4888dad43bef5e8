"""A local site (``connection: local``): the server runs where sbatch is, as at a centre.

The same deployer as for SSH sites, through the local shell: jobs on the real test
Slurm, run directories and event tails on this filesystem, stage-in by the same
commands; the same events, states, faults and cancel, and a restart in the middle.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from eflows_kernel.events import validate_event
from eflows_kernel.services.hpc.local_shell import local_login
from eflows_kernel.services.sites import SiteError
from tests.deploy.servers import Server
from tests.deploy.stack import (
    EXPECTED_COUNTS,
    Stack,
    local_site_config,
    seqs_are_gap_free,
    sleep_spec,
    wordcount_spec,
)


def test_wordcount_on_the_local_slurm_without_a_key(local_stack: Stack,
                                                     text_folder: Path) -> None:
    stack = local_stack
    assert stack.site.config.login == local_login() and stack.site.host_key is None
    workflow = stack.registry.register_spec(wordcount_spec())
    execution = stack.executor.submit(workflow.id, {"texts": str(text_folder)}, "centre")
    done = stack.wait(execution.id, timeout=600)
    assert done.state.value == "done", done.error
    assert done.credential_id is None and done.login == local_login()
    states = [c.state.value for c in done.state_history]
    for expected in ("queued", "staging-in", "submitted", "running", "staging-out", "done"):
        assert expected in states, states
    assert done.remote_job_id and done.remote_job_id.isdigit()  # a real Slurm job
    counts = json.loads(Path(done.outputs["counts"]["path"]).read_text())
    assert counts == EXPECTED_COUNTS
    events = stack.executor.events(execution.id)
    for event in events:
        validate_event(event)
    seqs_are_gap_free(events)
    stages = [s["stage"] for s in events if s["type"] == "stage" and s["state"] == "done"]
    assert stages[:4] == ["connect", "environment", "stage-in", "submit"], stages
    assert stages[-1] == "stage-out"
    assert len({e["task"] for e in events if e["type"] == "task"}) >= 4
    run_dir = Path(next(e["info"]["run_dir"] for e in events
                        if e["type"] == "stage" and e["stage"] == "connect"
                        and e["state"] == "done"))
    assert run_dir.parent.parent == Path(stack.site.config.workdir)  # on this filesystem
    site_events = [json.loads(line) for line in
                   (run_dir / "events.jsonl").read_text().splitlines()]
    by_seq = {e["seq"]: e for e in events}
    assert [by_seq.get(e["seq"]) for e in site_events] == site_events  # tailed, unchanged
    text, _ = stack.executor.logs(execution.id)
    assert "RESULT" in text


def test_cancel_on_the_local_site(local_stack: Stack) -> None:
    stack = local_stack
    workflow = stack.registry.register_spec(sleep_spec())
    execution = stack.executor.submit(workflow.id, {"n": 1}, "centre")
    running = stack.wait_for_state(execution.id, {"running"})
    assert running.state.value == "running", running.error
    cancelling = stack.executor.cancel(execution.id)
    assert cancelling.state.value == "cancelling"
    done = stack.wait(execution.id, timeout=120)
    assert done.state.value == "cancelled", (done.state, done.error)
    job = subprocess.run(["squeue", "-h", "-j", done.remote_job_id or "", "-o", "%T"],
                         capture_output=True, text=True)
    assert job.stdout.strip() in ("", "CANCELLED", "COMPLETING"), job.stdout
    events = stack.executor.events(execution.id)
    seqs_are_gap_free(events)
    assert [e["state"] for e in events if e["type"] == "run"][-1] == "cancelled"


def test_faults_read_as_on_an_ssh_site(local_stack: Stack, local_site_dir: Path) -> None:
    stack = local_stack
    stack.sites.add(local_site_config(local_site_dir, name="nopart", partition="nosuchpart"))
    workflow = stack.registry.register_spec(sleep_spec())
    execution = stack.executor.submit(workflow.id, {"n": 1, "seconds": 1}, "nopart")
    done = stack.wait(execution.id, timeout=300)
    assert done.state.value == "failed"
    assert "sbatch refused the job" in (done.error or "") and "nosuchpart" in done.error
    with pytest.raises(SiteError, match="no host key"):
        stack.sites.scan(stack.site.id)
    with pytest.raises(SiteError, match="needs no key"):
        stack.sites.authorize(stack.site.id, stack.vault.generate("k").id, password="x")
    other = stack.sites.add(local_site_config(local_site_dir, name="other",
                                              login="somebody-else"))
    report = stack.sites.check(other.id, "")
    assert not report.ok and "server's own account" in report.problems["authenticated"]
    assert stack.sites.check(stack.site.id, "").ok  # sbatch and the Python are here


def test_a_server_restart_mid_run_re_attaches(servers: tuple[Server, Server], sshd: object,
                                              slurm_cluster: str, local_site_dir: Path) -> None:
    first, second = servers
    client = first.start()
    client.sites.add(local_site_config(local_site_dir))
    workflow = client.workflows.register_spec(sleep_spec())
    execution = client.executions.trigger(workflow.id, {"n": 2, "seconds": 8.0},
                                          site="centre")
    deadline = time.monotonic() + 180
    while client.executions.get(execution.id).state.value != "running":
        assert time.monotonic() < deadline, client.executions.get(execution.id)
        time.sleep(0.2)
    first.kill()  # SIGKILL: the job goes on

    client = second.start()
    events = list(client.executions.follow(execution.id))
    done = client.executions.wait(execution.id, timeout=180)
    assert done.state.value == "done", done.error
    assert [e["state"] for e in events if e["type"] == "run"][-1] == "done"
    all_events = client.executions.events(execution.id)
    seqs_are_gap_free(all_events)
    site_log = local_site_dir / "runs" / execution.id / "events.jsonl"
    site_events = [json.loads(line) for line in site_log.read_text().splitlines()]
    by_seq = {e["seq"]: e for e in all_events}
    assert [by_seq.get(e["seq"]) for e in site_events] == site_events
