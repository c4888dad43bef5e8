"""A real Jupyter server killed during a remote run or mid step graph; the next one
re-attaches and finishes it.

Both servers are real ``jupyter server`` processes with the extension, sharing one state
database and runs folder, as a restart at a centre would. The first is killed with
SIGKILL (no clean shutdown), so its owner locks are released by the system alone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eflows_kernel.client import EflowsClient
from tests.deploy.servers import Server
from tests.deploy.stack import APPS, seqs_are_gap_free, sleep_spec
from tests.plugins.cluster import SshdInfo


def test_killed_server_restarts_and_the_run_completes_visibly(
        servers: tuple[Server, Server], clean_account: SshdInfo, slurm_cluster: str) -> None:
    first, second = servers
    client = first.start()
    client.sites.add({"name": "cluster", "host": clean_account.host,
                      "port": clean_account.port, "login": clean_account.login,
                      "scheduler": "slurm", "python": {"path": "/usr/bin/python3"}})
    client.sites.trust("cluster", client.sites.scan("cluster").fingerprint)
    credential = client.credentials.generate("restart").id
    client.sites.authorize("cluster", credential, password=clean_account.password)
    workflow = client.workflows.register_spec(sleep_spec())
    execution = client.executions.trigger(workflow.id, {"n": 2, "seconds": 10.0},
                                          site="cluster", credential_id=credential)
    deadline = time.monotonic() + 180
    while client.executions.get(execution.id).state.value != "running":
        assert time.monotonic() < deadline, client.executions.get(execution.id)
        time.sleep(0.2)
    first.kill()  # no goodbye: its locks and connections just vanish

    client = second.start()
    events = list(client.executions.follow(execution.id))  # live, to the end
    done = client.executions.wait(execution.id, timeout=180)
    assert done.state.value == "done", done.error
    assert [e["state"] for e in events if e["type"] == "run"][-1] == "done"
    all_events = client.executions.events(execution.id)
    seqs_are_gap_free(all_events)
    remote_log = clean_account.home / "eflows" / "runs" / execution.id / "events.jsonl"
    remote = [json.loads(line) for line in remote_log.read_text().splitlines()]
    by_seq = {e["seq"]: e for e in all_events}
    assert [by_seq.get(e["seq"]) for e in remote] == remote  # nothing lost or renumbered


UI_LOGIN = "eflows-ui"  # a second login of the test sshd: a site that shares no files


def _graph(gate: Path) -> dict[str, Any]:
    """left (Front) and right (Back) at once, both held until ``gate`` exists; then the
    copy of left's directory to Back (the plan's ``left->ui``) and join (Back), which
    reads both."""
    app, one_cpu = str(APPS / "graph_step.py"), {"workers": 1}
    return {"name": "restart-graph", "steps": [
        {"name": "left", "application": app, "environment": "Front", "options": one_cpu,
         "arguments": ["--wait-for", str(gate), "--write", "left.txt", "from left"]},
        {"name": "right", "application": app, "environment": "Back", "options": one_cpu,
         "arguments": ["--wait-for", str(gate), "--write", "right.txt", "from right"]},
        {"name": "join", "application": app, "environment": "Back", "options": one_cpu,
         "depends_on": ["left", "right"],
         "arguments": ["--read", "${steps.right.dir}/right.txt",
                       "--read", "${steps.left.dir}/left.txt"]}]}


def _add_site(client: EflowsClient, name: str, account: SshdInfo, login: str,
              credential: str, **config: Any) -> None:
    client.sites.add({"name": name, "host": account.host, "port": account.port,
                      "login": login, "scheduler": "slurm",
                      "python": {"path": "/usr/bin/python3"}, **config})
    client.sites.trust(name, client.sites.scan(name).fingerprint)
    client.sites.authorize(name, credential, password=account.password)


def _slurm_jobs(name: str) -> list[tuple[str, str]]:
    """Every job Slurm knows by ``name`` (finished ones too: MinJobAge is 600 s on the
    test cluster, and accounting, so sacct, is off there): (job id, state)."""
    out = subprocess.run(["squeue", "-h", "-t", "all", "-n", name, "-o", "%i %T"],
                         capture_output=True, text=True, check=True).stdout
    return [tuple(line.split()) for line in out.splitlines()]  # type: ignore[misc]


def _steps(client: EflowsClient, execution_id: str) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in client.executions.steps(execution_id)}


@pytest.fixture
def gate() -> Iterator[Path]:
    """A file the held steps wait for, in a folder both logins can read; opened at the
    end whatever happens, so no job holds the test node's CPUs after the test."""
    folder = Path(tempfile.mkdtemp(prefix="eflows-gate-"))
    folder.chmod(0o755)
    path = folder / "open"
    try:
        yield path
    finally:
        path.touch()
        time.sleep(1)  # (the jobs poll every 0.2 s)
        shutil.rmtree(folder)


def test_a_server_killed_mid_graph_re_attaches_every_running_step(
        servers: tuple[Server, Server], clean_account: SshdInfo, slurm_cluster: str,
        gate: Path) -> None:
    """Two branch jobs on two logins run at once in Slurm; the server is SIGKILLed; the
    next server re-attaches both (same jobs, none submitted again), then runs the copy
    and the successor, and the graph ends done with one gap-free log."""
    first, second = servers
    client = first.start()
    credential = client.credentials.generate("restart-graph").id
    _add_site(client, "cluster", clean_account, clean_account.login, credential)
    _add_site(client, "ui", clean_account, UI_LOGIN, credential, workdir="~/eflows-copies")
    workflow = client.workflows.register_spec(_graph(gate))
    execution = client.executions.trigger(workflow.id, {}, site={"Front": "cluster",
                                                                  "Back": "ui"},
                                          credential_id=credential)
    deadline = time.monotonic() + 300
    while True:  # both branch jobs running at once in Slurm
        steps = _steps(client, execution.id)
        jobs = {n: steps[n]["job_id"] for n in ("left", "right")}
        if all(jobs.values()) and {_slurm_jobs(f"eflows-{steps[n]['execution_id']}")[0][1]
                                   for n in jobs} == {"RUNNING"}:
            break
        assert time.monotonic() < deadline, steps
        assert not client.executions.get(execution.id).finished, steps
        time.sleep(0.3)
    before = client.executions.events(execution.id)
    first.kill()  # no goodbye, mid-graph

    client = second.start()
    assert client.status()["executor_started"]  # re-attached as it started, unasked
    deadline = time.monotonic() + 60  # (a record may still say "submitted" of a job that
    while True:  # ran when the first server died: the second one's follower catches up)
        steps = _steps(client, execution.id)
        if {steps[n]["state"] for n in jobs} == {"running"}:
            break
        assert time.monotonic() < deadline, steps
        time.sleep(0.2)
    assert {n: steps[n]["job_id"] for n in jobs} == jobs
    assert {steps[n]["state"] for n in ("left->ui", "join")} == {"pending"}
    for name in jobs:  # still the one job each, running: re-attached, not submitted again
        assert _slurm_jobs(f"eflows-{steps[name]['execution_id']}") == [
            (jobs[name], "RUNNING")]
    # The operator's server log says so (the services' own loggers reach it).
    server_log = (second.state / f"server-{second.port}.log").read_text()
    for name in jobs:
        assert f"re-attaching to execution {steps[name]['execution_id']}" in server_log
    gate.touch()  # the branch goes on, followed by the second server alone

    done = client.executions.wait(execution.id, timeout=240)
    steps = _steps(client, execution.id)
    assert done.state.value == "done", (done.error, steps)
    assert {n: (s["state"], s["site"]) for n, s in steps.items()} == {
        "left": ("done", "cluster"), "right": ("done", "ui"), "left->ui": ("done", "ui"),
        "join": ("done", "ui")}
    assert {n: steps[n]["job_id"] for n in jobs} == jobs
    for name in ("left", "right", "join"):  # one Slurm job per job step, ever
        assert [job for job, _ in _slurm_jobs(f"eflows-{steps[name]['execution_id']}")] \
            == [steps[name]["job_id"]]

    events = client.executions.events(execution.id)
    seqs_are_gap_free(events)
    assert events[:len(before)] == before  # what the first server logged, kept as it was
    for name, step in steps.items():  # each step's own log copied once, in order
        own = client.executions.events(step["execution_id"])
        seqs_are_gap_free(own)
        copied = [e["step_seq"] for e in events if e.get("step") == name and "step_seq" in e]
        assert copied == [e["seq"] for e in own], name
        states = [e["state"] for e in events if e["type"] == "step" and e["step"] == name]
        assert len(states) == len(set(states)) and states[-1] == "done", (name, states)
    assert events[-1]["type"] == "run" and events[-1]["state"] == "done"

    logs = {name: client.executions.logs(execution.id, step=name)[0] for name in steps}
    assert "went on:" in logs["left"] and "wrote left.txt" in logs["left"]
    assert "went on:" in logs["right"] and "wrote right.txt" in logs["right"]
    assert "sha256 checked" in logs["left->ui"]
    assert "read: 'from right'" in logs["join"] and "read: 'from left'" in logs["join"]
    whole = client.executions.logs(execution.id)[0]
    for name in steps:
        assert f"==> step {name} (" in whole
