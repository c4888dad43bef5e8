"""Scale-out: the runner's workers as Slurm jobs (dask-jobqueue) on the real test Slurm.

The single-node cluster of tests/cluster/setup_slurm.sh (2 CPUs, partition ``debug``) is
started by the ``slurm_cluster`` fixture, as root; worker jobs are submitted by the runner
itself, as root, with this interpreter (the scheduler runs in the runner's process).
Every test checks that no worker job is left in the queue once the runner has exited.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eflows_kernel.engine.jobqueue import _slurm_options
from eflows_kernel.engine.runner import _slurm_options as runner_slurm_options
from eflows_kernel.engine.runner import build_parser
from eflows_kernel.model.exceptions import EngineError

LIVE_STATES = "PENDING,RUNNING,SUSPENDED,COMPLETING,CONFIGURING"

HELPER = '''
import os
import time

from pycompss.api.constraint import constraint
from pycompss.api.task import task


@constraint(computing_units=1)
@task(returns=1)
def where(i, seconds):
    """Where a task ran: its Slurm job, its process."""
    time.sleep(seconds)
    return {"i": i, "job": os.environ.get("SLURM_JOB_ID"), "pid": os.getpid()}
'''

APP = '''
import json
import sys

from pycompss.api.api import compss_wait_on

from slurm_helper import where  # a module beside the app: importable on the workers too

results = compss_wait_on([where(i, float(sys.argv[2])) for i in range(int(sys.argv[1]))])
print("RESULT " + json.dumps(results))
'''


def run_runner(cwd: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "eflows_kernel.engine.runner", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)


def squeue(*args: str) -> list[list[str]]:
    out = subprocess.run(["squeue", "-h", *args], capture_output=True, text=True,
                         timeout=30).stdout
    return [line.split("|") for line in out.splitlines() if line.strip()]


def live_jobs(job_ids: set[str], timeout: float = 20.0) -> set[str]:
    """Those of ``job_ids`` still pending or running once Slurm had ``timeout`` seconds to
    finish cancelling them (COMPLETING lasts up to KillWait)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = squeue("-t", LIVE_STATES, "-o", "%i|%T") if job_ids else []
        live = {row[0] for row in rows if row[0] in job_ids}
        if not live or time.monotonic() > deadline:
            return live
        time.sleep(0.5)


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class QueueWatcher:
    """Records (job id, name, state) of every job squeue shows while a run goes on."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str, str]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.seen.update(tuple(row) for row in squeue("-o", "%i|%j|%T")
                             if len(row) == 3)
            self._stop.wait(0.3)

    def __enter__(self) -> QueueWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


@pytest.fixture
def slurm_app(tmp_path: Path, slurm_cluster: str) -> Iterator[Path]:
    (tmp_path / "slurm_helper.py").write_text(HELPER)
    app = tmp_path / "where.py"
    app.write_text(APP)
    yield app


# -- options (no Slurm needed) -----------------------------------------------------------


def test_options_map_onto_slurmcluster_with_worker_resources() -> None:
    options = _slurm_options({"partition": "debug", "cores": 4, "processes": 2,
                              "memory": "8GB", "host": "10.0.0.5"})
    assert options["queue"] == "debug" and "partition" not in options
    assert options["scheduler_options"]["host"] == "10.0.0.5"
    assert options["worker_extra_args"][-2:] == ["--resources", "CPU=2,MEMORY=4.0"]
    assert options["walltime"] == "00:30:00" and options["python"] == sys.executable
    assert options["death_timeout"] == 60
    with pytest.raises(EngineError, match="multiple of processes"):
        _slurm_options({"cores": 3, "processes": 2})


def test_runner_flags_win_over_generic_options() -> None:
    args = build_parser().parse_args([
        "--slurm-workers", "3", "--slurm-option", "processes=2", "--slurm-option",
        "queue=other", "--slurm-partition", "debug", "--slurm-memory", "2GB",
        "--slurm-directive=--gres=gpu:1", "app.py"])
    assert runner_slurm_options(args) == {"processes": 2, "queue": "debug", "memory": "2GB",
                                          "job_extra_directives": ["--gres=gpu:1"]}


# -- the real Slurm ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_tasks_run_in_slurm_worker_jobs_which_are_gone_afterwards(
        slurm_app: Path, tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    began = time.monotonic()
    with QueueWatcher() as watcher:
        proc = run_runner(tmp_path, "--slurm-workers", "2", "--slurm-partition", "debug",
                          "--slurm-wait", "120", "--event-log", str(log),
                          str(slurm_app), "4", "1.5")
    elapsed = time.monotonic() - began
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    events = read_events(log)
    running = next(e for e in events if e["type"] == "run" and e["state"] == "running")
    jobs = running["info"]["worker_jobs"]
    assert len(jobs) == 2 and running["info"]["workers"] == 2, running
    job_ids = set(jobs.values())
    # squeue showed them, named as dask-jobqueue names its jobs, while the run went on.
    seen = {(job, name) for job, name, state in watcher.seen if state == "RUNNING"}
    assert {(job, "dask-worker") for job in job_ids} <= seen, watcher.seen
    # Every task ran inside one of those jobs (its process had their SLURM_JOB_ID), the
    # application's helper module and pycompss.* were importable there, and @constraint
    # found the CPU resource the worker jobs declare.
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    results = json.loads(line[len("RESULT "):])
    assert sorted(r["i"] for r in results) == [0, 1, 2, 3]
    assert {r["job"] for r in results} == job_ids  # both workers got tasks
    workers = {e["worker"] for e in events if e["type"] == "task" and e.get("worker")}
    assert len(workers) == 2, workers
    assert events[-1]["state"] == "done"
    # Engine stopped: the cluster was closed and its worker jobs cancelled.
    assert live_jobs(job_ids) == set()
    states = {row[0]: row[1] for row in squeue("-t", "all", "-o", "%i|%T")}
    assert all(states.get(job) in {"CANCELLED", "COMPLETED", None} for job in job_ids), states
    assert (tmp_path / "eflows-worker-logs").is_dir()
    print(f"scale-out run with 2 Slurm workers: {elapsed:.1f} s")


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_partition_slurm_refuses_fails_at_once_with_sbatchs_message(
        slurm_app: Path, tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    began = time.monotonic()
    proc = run_runner(tmp_path, "--slurm-workers", "2", "--slurm-partition", "no-such-part",
                      "--event-log", str(log), str(slurm_app), "2", "0")
    assert time.monotonic() - began < 60, "a refused submission must not wait for workers"
    assert proc.returncode == 1, proc
    assert "Slurm refused the worker jobs" in proc.stderr
    assert re.search(r"(?i)invalid partition", proc.stderr), proc.stderr
    final = read_events(log)[-1]
    assert final["state"] == "failed" and "invalid partition" in final["error"].lower()
    assert not any(name == "dask-worker" for _, name in
                   (row for row in squeue("-t", LIVE_STATES, "-o", "%i|%j")))


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_worker_jobs_that_die_fail_the_run_early_with_their_state(
        slurm_app: Path, tmp_path: Path) -> None:
    began = time.monotonic()
    proc = run_runner(tmp_path, "--slurm-workers", "2", "--slurm-wait", "100",
                      "--slurm-option", "python=/bin/false", str(slurm_app), "2", "0")
    assert time.monotonic() - began < 60, "ended jobs must not be waited for until timeout"
    assert proc.returncode == 1, proc
    assert "the Slurm worker jobs did not start" in proc.stderr
    assert proc.stderr.count("FAILED (NonZeroExitCode)") == 2, proc.stderr


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_workers_that_stay_pending_time_out_with_squeues_reason_and_are_cancelled(
        slurm_app: Path, tmp_path: Path) -> None:
    # Two jobs of 2 cores on a 2-CPU node: the second one waits for resources.
    proc = run_runner(tmp_path, "--slurm-workers", "2", "--slurm-cores", "2",
                      "--slurm-wait", "5", str(slurm_app), "2", "0")
    assert proc.returncode == 1, proc
    assert "did not start within 5 s" in proc.stderr, proc.stderr
    assert "PENDING (Resources)" in proc.stderr, proc.stderr
    job_ids = set(re.findall(r"job (\d+):", proc.stderr))
    assert len(job_ids) == 2, proc.stderr
    assert live_jobs(job_ids) == set()
