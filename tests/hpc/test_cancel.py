"""Cancelling a run while its MPI ranks run leaves no rank behind (process table).

- Locally, as the local executor cancels: the runner leads a process group of its own,
  which gets SIGTERM, and SIGKILL after the executor's grace period. The ranks run in
  sessions of their own (so a task's cancel reaches all of them), outside that group:
  the workers must end them.
- Under Slurm: ``scancel`` of a two-node job (one worker per node) while its MPI task's
  ranks and a program run on its nodes.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eflows_kernel.services.executions.local import LocalExecutor
from eflows_kernel.services.executions.processes import group_members, signal_group
from tests.conftest import REPO
from tests.hpc import HPC_APPS
from tests.hpc.conftest import programs_running

pytestmark = pytest.mark.slow

GRACE = inspect.signature(LocalExecutor).parameters["grace_period"].default  # SIGKILL after


def _programs(seconds: str) -> list[str]:
    """The ``sleep <seconds>`` programs themselves (not an mpirun naming them)."""
    return [line for line in programs_running(f"sleep {seconds}")
            if line.split(None, 3)[3].startswith("sleep ")]


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:g} s")
        time.sleep(0.2)


def _none_left(seconds: str, within: float) -> None:
    deadline = time.monotonic() + within
    while _programs(seconds) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = _programs(seconds)
    assert not left, "ranks outlived their cancelled run:\n" + "\n".join(left)


def test_a_cancelled_local_run_leaves_no_rank(tmp_path: Path, no_leftover) -> None:
    seconds = "291.0625"
    no_leftover(f"sleep {seconds}")
    runner = Path(sys.executable).parent / "eflows-run"
    run = subprocess.Popen([str(runner), "--workers", "4", str(HPC_APPS / "hpc_cancel.py"),
                            seconds, "until-cancelled"], cwd=tmp_path,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)  # as the local executor starts a run
    try:
        _wait_for(lambda: len(_programs(seconds)) == 3, 120,
                  "the two ranks and the program did not all start")
        signal_group(run.pid, signal.SIGTERM)  # the executor's cancel ...
        with contextlib.suppress(subprocess.TimeoutExpired):
            run.wait(timeout=GRACE)
        signal_group(run.pid, signal.SIGKILL)  # ... and what it sends after the grace
        run.wait(timeout=30)
        _wait_for(lambda: not group_members(run.pid), 30, "the run's group did not end")
        # Once the executor sees the group gone the run is "cancelled": nothing may run.
        _none_left(seconds, within=0)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()


def test_scancel_of_a_two_node_job_leaves_no_rank(multinode_cluster, tmp_path: Path,
                                                   no_leftover) -> None:
    cluster = multinode_cluster
    seconds = "293.0625"
    no_leftover(f"sleep {seconds}")
    runner = Path(sys.executable).parent / "eflows-run"
    script = f"""#!/bin/bash
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task={cluster.cores_per_node}
#SBATCH --output={tmp_path}/job.out
cd {tmp_path}
export PYTHONPATH={REPO}
exec {runner} --slurm-allocation {HPC_APPS / 'hpc_cancel.py'} {seconds} until-cancelled
"""
    job = cluster.sbatch(script, tmp_path)
    try:
        _wait_for(lambda: len(_programs(seconds)) == 3, 180,
                  "the two ranks and the program did not all start")
    finally:
        subprocess.run(["scancel", job], env=cluster.env, check=False)
    state = cluster.wait(job)
    assert state == "CANCELLED", state
    # Slurm kills what it tracks when the job ends (KillWait later, SIGKILL): nothing of
    # the task may be left on either node once it says the job is over.
    _none_left(seconds, within=15)
