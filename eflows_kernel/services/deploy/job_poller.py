"""One poller per site asks the scheduler about all of that site's running jobs at once.

Fifty runs on one cluster cost one ``squeue`` every few seconds, not fifty: the
controller of a shared cluster must not feel our users. A failed poll (connection
dropped, controller busy) is retried at the next tick; states are handed to each
job's callback, which decides what a state means for its execution.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from eflows_kernel.services.deploy.jobs import DirectJobs, SlurmJobs
from eflows_kernel.services.hpc import slurm
from eflows_kernel.services.hpc.connections import PooledConnection

log = logging.getLogger(__name__)

OnState = Callable[[slurm.JobState | None], None]  # None: the scheduler forgot the job


@dataclass
class _Watched:
    run_dir: str
    on_state: OnState


class JobPoller:
    """Polls ``backend`` every ``interval`` s for the jobs registered with ``watch``."""

    def __init__(self, connection: PooledConnection, backend: SlurmJobs | DirectJobs,
                 interval: float = 2.0) -> None:
        self.connection = connection
        self.backend = backend
        self.interval = interval
        self._jobs: dict[str, _Watched] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.polls = 0

    def watch(self, job_id: str, run_dir: str, on_state: OnState) -> None:
        with self._lock:
            self._jobs[job_id] = _Watched(run_dir, on_state)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, daemon=True,
                                                name=f"eflows-jobs-{self.connection.name}")
                self._thread.start()
        self._wake.set()

    def unwatch(self, job_id: str) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    def poke(self) -> None:
        """Poll now (a cancel was sent: its result should show without waiting a tick)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                jobs = {job_id: w.run_dir for job_id, w in self._jobs.items()}
            if jobs:
                self._poll(jobs)
            self._wake.wait(self.interval)
            self._wake.clear()

    def _poll(self, jobs: dict[str, str]) -> None:
        try:
            states = self.backend.states(self.connection.get(), jobs)
        except Exception as error:  # connection lost, controller busy: next tick
            log.info("eflows: polling jobs on %s failed: %s", self.connection.name, error)
            return
        self.polls += 1
        for job_id in jobs:
            with self._lock:
                watched = self._jobs.get(job_id)
            if watched is None:
                continue
            try:
                watched.on_state(states.get(job_id))
            except Exception:
                log.exception("eflows: handling the state of job %s failed", job_id)
