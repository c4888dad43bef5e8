"""The remote runs one process follows: each one's thread, state, event tail and job polls.

:class:`RemoteRuns` holds what lives while a run is followed (its :class:`Deployment`,
the per-site job pollers, the connections the event tails share) and moves each run
on: the pipeline up to the submitted job, then following it (events copied live from
the site, the job's state polled), then its end (``finish.py``). Creating a deployment
and deciding what to re-attach is the executor's business (``remote_executor.py``).
"""

from __future__ import annotations

import logging
import posixpath
import threading
import time
from pathlib import Path
from typing import Any

from eflows_kernel.events import EVENT_LOG
from eflows_kernel.services.deploy import pipeline
from eflows_kernel.services.deploy.environment import EnvironmentBuilder
from eflows_kernel.services.deploy.finish import FORGOTTEN, Finisher, copy_event
from eflows_kernel.services.deploy.job_poller import JobPoller
from eflows_kernel.services.deploy.jobs import backend_for
from eflows_kernel.services.deploy.ownership import disown
from eflows_kernel.services.deploy.periodic import start_periodic
from eflows_kernel.services.errors import ServiceError
from eflows_kernel.services.executions.store import ExecutionStore
from eflows_kernel.services.hpc import slurm, ssh
from eflows_kernel.services.hpc.connections import ConnectionPool, PooledConnection
from eflows_kernel.services.hpc.pending_reasons import pending_warning
from eflows_kernel.services.hpc.remote_events import RemoteEventTail
from eflows_kernel.services.lifecycle import ExecutionState
from eflows_kernel.services.sites import Site

log = logging.getLogger(__name__)

CANCEL_RETRY = 15.0  # seconds after which a cancel the site did not act on is sent again
TAILS_PER_CONNECTION = 8  # sshd's MaxSessions is 10 by default; keep room for short commands


class RemoteRuns:
    """Moves every followed remote run through its states, one thread per run."""

    def __init__(self, executions: ExecutionStore, runs_dir: Path,
                 environments: EnvironmentBuilder, pool: ConnectionPool,
                 poll_interval: float = 2.0) -> None:
        self.executions = executions
        self.runs_dir = Path(runs_dir)
        self.environments = environments
        self.pool = pool
        self.poll_interval = poll_interval
        self.deployments: dict[str, pipeline.Deployment] = {}
        self._pollers: dict[tuple[str, str | None], JobPoller] = {}
        self._tail_load: dict[PooledConnection, int] = {}
        self.lock = threading.RLock()
        self.closed = False
        self.finisher = Finisher(self)

    def add(self, dep: pipeline.Deployment) -> None:
        with self.lock:
            self.deployments[dep.execution_id] = dep

    def tail_connection(self, site: Site, credential_id: str | None,
                        identity: tuple[object, ...]) -> PooledConnection:
        """A connection for one more event tail: a new one every TAILS_PER_CONNECTION runs."""
        with self.lock:
            index = 0
            while True:
                connection = self.pool.connection(f"{site.id}#tail{index}", credential_id,
                                                  f"{site.name} (events {index})", identity)
                if self._tail_load.get(connection, 0) < TAILS_PER_CONNECTION:
                    self._tail_load[connection] = self._tail_load.get(connection, 0) + 1
                    return connection
                index += 1

    # ---- one thread per run ------------------------------------------------------------

    def start(self, dep: pipeline.Deployment, target: Any, *args: Any) -> None:
        dep.thread = threading.Thread(target=self._guard, args=(dep, target, *args),
                                      daemon=True, name=f"eflows-remote-{dep.execution_id[:8]}")
        dep.thread.start()

    def _guard(self, dep: pipeline.Deployment, target: Any, *args: Any) -> None:
        """Whatever goes wrong ends the execution FAILED with the reason, never 'running'.

        Except while the server shuts down: then the next one takes the run over.
        """
        try:
            target(dep, *args)
        except pipeline.Cancelled:
            pipeline.stage(dep.log, "cancel", "done", "cancelled before the job was submitted")
            self.set_state(dep, ExecutionState.CANCELLED, "cancelled before submission")
            self.release(dep)
        except Exception as error:
            if self.closed:
                return
            message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
            if not isinstance(error, ServiceError):  # expected failures carry their message
                log.exception("eflows: remote execution %s failed", dep.execution_id)
            if dep.job_id and not dep.finalizing:
                # The job may run on: its events own the log's next numbers, so nothing is
                # written there; the message says which job to look after.
                message += (f"\n(job {dep.job_id} may still be running on site "
                            f"{dep.site.name!r}: it is no longer followed)")
            else:
                pipeline.stage(dep.log, dep.stage, "failed", message.splitlines()[0][:300])
            self.set_state(dep, ExecutionState.FAILED, f"{dep.stage} failed", error=message)
            self.release(dep)

    def deploy(self, dep: pipeline.Deployment) -> None:
        """Connect, environment, stage-in, submit; then follow the job."""
        self.set_state(dep, ExecutionState.STAGING_IN, "deploying to the site")
        with dep.connection.work_slot():
            request = pipeline.prepare(dep, self.environments)
            job_id = pipeline.submit(dep, request)
        self.executions.set_remote_job(dep.execution_id, job_id)
        self.set_state(dep, ExecutionState.SUBMITTED, f"job {job_id}")
        start_periodic(dep)
        if dep.cancel.is_set():  # a cancel arrived while sbatch ran
            self.send_cancel(dep)
        self.follow(dep)

    def reattach(self, dep: pipeline.Deployment, state: ExecutionState) -> None:
        """Find a submitted run again; an unreachable site is waited for (the job runs on)."""
        delay = 1.0
        while True:
            try:
                with dep.connection.quick_slot():
                    client = dep.connection.get()
                    workdir = pipeline.resolve_workdir(client, dep.site.config.workdir)
                break
            except (ssh.HostKeyChangedError, ssh.HostKeyNotTrusted,
                    ssh.AuthenticationFailed) as error:  # waiting cannot fix these
                raise pipeline.StepFailed(pipeline.connect_message(dep.site, error)) from None
            except Exception as error:
                if self.closed:
                    return
                log.warning("eflows: cannot reach %s to follow %s (%s); retrying in %.0f s",
                            dep.site.name, dep.execution_id, error, delay)
                time.sleep(delay)
                delay = min(delay * 2, 60.0)
        dep.run_dir = posixpath.join(workdir, "runs", dep.execution_id)
        if state == ExecutionState.STAGING_OUT:
            dep.finalizing = True
            self.finisher.finish(dep, slurm.JobState("COMPLETED"))
            return
        if state == ExecutionState.CANCELLING:
            dep.cancel.set()
            self.send_cancel(dep)
        self.follow(dep)

    def set_state(self, dep: pipeline.Deployment, state: ExecutionState, detail: str,
                  error: str | None = None) -> None:
        """Move the execution on; a final state only after the log is on disk (a stream
        that sees the execution finished must find every event)."""
        if state.finished:
            dep.log.flush()
        with self.lock:
            current = self.executions.get(dep.execution_id)
            if current.finished or current.state == state or (
                    current.state == ExecutionState.CANCELLING and not state.finished):
                return  # (the same state again would only grow the history)
            self.executions.set_state(dep.execution_id, state, detail, error=error)

    # ---- following ---------------------------------------------------------------------

    def follow(self, dep: pipeline.Deployment) -> None:
        """Copy the run's events as they are written and watch the job's state."""
        dep.stage = "run"
        self._start_tail(dep)
        self._poller(dep).watch(dep.job_id or "", dep.run_dir,
                                lambda state: self._on_job_state(dep, state))

    def _start_tail(self, dep: pipeline.Deployment) -> None:
        dep.tail = RemoteEventTail(
            dep.tail_connection.get, posixpath.join(dep.run_dir, EVENT_LOG),
            lambda event: self._on_event(dep, event), from_seq=dep.log.last_seq,
            shared_client=True, give_up_after=600.0)
        dep.tail.start()

    def _poller(self, dep: pipeline.Deployment) -> JobPoller:
        key = (dep.site.id, dep.credential_id)
        with self.lock:
            poller = self._pollers.get(key)
            if poller is None:
                poller = JobPoller(dep.connection, backend_for(dep.site.config),
                                   self.poll_interval)
                self._pollers[key] = poller
            return poller

    def _on_event(self, dep: pipeline.Deployment, event: dict[str, Any]) -> None:
        if copy_event(dep, event):
            self.on_event_seen(dep, event)

    def on_event_seen(self, dep: pipeline.Deployment, event: dict[str, Any]) -> None:
        """A run event was copied into the local log (by the tail, or by a catch-up)."""
        if event.get("type") == "run":
            if event.get("state") in ("done", "failed", "cancelled"):
                dep.run_final = event
            elif self.executions.get(dep.execution_id).state == ExecutionState.SUBMITTED:
                self.set_state(dep, ExecutionState.RUNNING, "the run started")

    def _on_job_state(self, dep: pipeline.Deployment, state: slurm.JobState | None) -> None:
        if state is None:
            dep.missing_polls += 1
            if dep.missing_polls < 3 and dep.run_final is None:
                return
            state = slurm.JobState("FAILED", FORGOTTEN)  # the finisher reads the log
        dep.missing_polls = 0
        self._record_queue(dep, state)
        if not state.finished:
            if state.execution_state == ExecutionState.RUNNING:
                self.set_state(dep, ExecutionState.RUNNING, f"job {dep.job_id} running")
            if dep.cancel.is_set() and time.monotonic() - dep.cancel_sent > CANCEL_RETRY:
                self.send_cancel_async(dep)  # the last one did not land
            if dep.tail is not None and not dep.tail.alive and not dep.tail.finished:
                log.info("eflows: following %s again", dep.execution_id)
                self._start_tail(dep)  # it gave up (long outage); the job still runs
            return
        with self.lock:
            if dep.finalizing:
                return
            dep.finalizing = True
        self._poller(dep).unwatch(dep.job_id or "")
        self.start(dep, self.finisher.finish, state)

    def _record_queue(self, dep: pipeline.Deployment, state: slurm.JobState) -> None:
        """Slurm's state and pending reason for the jobs table, written only on a change
        (a poll every few seconds must not become a database write every few seconds)."""
        if dep.site.config.scheduler != "slurm":
            return
        queue = state.queue()
        if queue != dep.queue:
            dep.queue = queue
            warning = pending_warning(dep.job_id or "?", state.reason or "") if (
                state.state == "PENDING" and not dep.said_unrunnable) else None
            if warning:  # it waits for ever: say so, and what to change
                dep.said_unrunnable = True
                dep.log.emit("log", level="WARN", source="deployer", message=warning)
            try:
                self.executions.set_queue(dep.execution_id, queue)
            except Exception:  # deleted meanwhile: the poller's other work goes on
                log.exception("eflows: recording the queue state of %s failed",
                              dep.execution_id)

    # ---- cancelling --------------------------------------------------------------------

    def send_cancel_async(self, dep: pipeline.Deployment) -> None:
        dep.cancel_sent = time.monotonic()
        threading.Thread(target=self.send_cancel, args=(dep,), daemon=True,
                         name=f"eflows-cancel-{dep.execution_id[:8]}").start()

    def send_cancel(self, dep: pipeline.Deployment) -> None:
        dep.cancel_sent = time.monotonic()
        try:
            client = dep.connection.get()
            if not dep.run_dir:  # taken over a moment ago: not located yet
                dep.run_dir = posixpath.join(pipeline.resolve_workdir(
                    client, dep.site.config.workdir), "runs", dep.execution_id)
            backend_for(dep.site.config).cancel(client, dep.job_id or "", dep.run_dir)
        except Exception as error:  # the poller still sees the job end, or not: say so
            log.warning("eflows: cancelling job %s failed: %s", dep.job_id, error)
        self._poller(dep).poke()

    # ---- the end -----------------------------------------------------------------------

    def release(self, dep: pipeline.Deployment) -> None:
        """The execution is over (or given up): stop following it, let others have it."""
        with self.lock:
            self.deployments.pop(dep.execution_id, None)
            if dep.tail_connection in self._tail_load:
                self._tail_load[dep.tail_connection] -= 1
            poller = self._pollers.get((dep.site.id, dep.credential_id))
        if poller is not None and dep.job_id:
            poller.unwatch(dep.job_id)
        if dep.tail is not None:
            dep.tail.stop.set()
        dep.log.close()
        disown(dep.owner)

    def shutdown(self, timeout: float | None = None) -> None:
        """Stop following (the remote runs go on; the next process re-attaches)."""
        self.closed = True
        with self.lock:
            deployments = list(self.deployments.values())
            pollers = list(self._pollers.values())
        for poller in pollers:
            poller.stop()
        for dep in deployments:
            if dep.tail is not None:
                dep.tail.stop.set()
        deadline = time.monotonic() + (timeout if timeout is not None else 5.0)
        for dep in deployments:  # one deadline for all, not one each
            if dep.tail is not None:
                dep.tail.wait(max(0.0, deadline - time.monotonic()))
            dep.log.close()
            disown(dep.owner)
        self.pool.close()


__all__ = ["RemoteRuns"]
