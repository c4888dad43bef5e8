"""The test clusters' Slurm queues: what a test session or a test leaves there is cancelled.

A job left queued or running holds the node's cores for everyone after it: a test that
fails before its own clean-up leaves its run's job (and ``sleep 600`` node holders)
waiting, and that job then delays every later test's job until each of those fails in
turn. A test cluster's queue is the test session's own: at the session's start whatever an
earlier session left (a killed run, a machine kept with its Slurm state) is cancelled, and
after each test that used a cluster, the jobs it submitted and left behind are.

Jobs that outlive a test on purpose are kept: JupyterHub's single-user servers
(``jupyterhub-<user>``, a session fixture's, cancelled by it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

KEPT_PREFIXES = ("jupyterhub-",)
_ACTIVE = "PENDING,CONFIGURING,RUNNING,COMPLETING,SUSPENDED,REQUEUED,RESIZING"


@dataclass(frozen=True)
class QueuedJob:
    job_id: str
    name: str
    user: str
    state: str

    def __str__(self) -> str:
        return f"{self.job_id} {self.name} ({self.user}, {self.state})"


class SlurmQueue:
    """One test cluster's queue, reached with its ``SLURM_CONF`` (None: the default one)."""

    def __init__(self, conf: str | None = None) -> None:
        self.env: Mapping[str, str] = {**os.environ, **({"SLURM_CONF": conf} if conf else {})}

    def active(self) -> list[QueuedJob] | None:
        """The jobs not ended yet; None while the cluster does not answer (not started)."""
        try:
            result = subprocess.run(["squeue", "-h", "-t", _ACTIVE, "-o", "%i|%j|%u|%T"],
                                    capture_output=True, text=True, env=dict(self.env),
                                    timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if result.returncode != 0:
            return None
        jobs = []
        for line in result.stdout.splitlines():
            parts = line.strip().split("|")
            if len(parts) == 4:
                jobs.append(QueuedJob(*parts))
        return jobs

    def cancel(self, jobs: list[QueuedJob], why: str, wait: float = 60.0) -> None:
        """Cancel ``jobs`` and wait until they have left the queue (Slurm's KillWait)."""
        if not jobs:
            return
        ids = [job.job_id for job in jobs]
        print(f"slurm_queue: cancelling {why}: " + "; ".join(map(str, jobs)), file=sys.stderr)
        subprocess.run(["scancel", *ids], env=dict(self.env), capture_output=True, timeout=60,
                       check=False)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            left = {job.job_id for job in self.active() or []}
            if not left & set(ids):
                return
            time.sleep(0.5)

    def clear(self, why: str) -> None:
        """Cancel every job in the queue (a session's start: nothing there is ours yet).

        Said as a warning too, so the run's summary shows it whichever test started it.
        """
        jobs = self.active() or []
        if jobs:
            warnings.warn(f"cancelled {len(jobs)} job(s), {why}: " + "; ".join(map(str, jobs)),
                          stacklevel=2)
        self.cancel(jobs, why)

    def left_behind(self, before: list[QueuedJob] | None) -> list[QueuedJob]:
        """The jobs queued now that were not at ``before``, except the kept ones."""
        known = {job.job_id for job in before or []}
        return [job for job in self.active() or [] if job.job_id not in known
                and not job.name.startswith(KEPT_PREFIXES)]
