"""Executions on the Jupyter host (the "local" site): one ``eflows-run`` subprocess each.

The executions service hands it the steps that run on the local site (through the router).
Every run gets its own folder ``<runs_dir>/<execution id>/`` holding the working
directory of the application, ``output.log`` (stdout and stderr together, so a
traceback appears where it happened) and ``events.jsonl`` (the task events the
runner writes). The subprocess is started in a new session, so it leads a
process group that also holds the Dask scheduler and workers it spawns:
cancelling signals the whole group and nothing is left behind.

Inputs reach the application only as ``argv`` entries (``subprocess`` with a
list, never a shell), so ``;``, ``$(...)`` or backticks in an input are text,
not commands.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from eflows_kernel.about import SOURCE_ROOT
from eflows_kernel.events.log import EVENT_LOG, read_events
from eflows_kernel.services.errors import ConflictError, NotFoundError, ValidationError
from eflows_kernel.services.executions import checkpoints
from eflows_kernel.services.executions.executor import Record, Target
from eflows_kernel.services.executions.logs import (
    OUTPUT_LOG,
    log_tail,
    read_text_chunk,
)
from eflows_kernel.services.executions.outputs_check import missing_outputs
from eflows_kernel.services.executions.plan import ExecutionPlan, StepPlan
from eflows_kernel.services.executions.processes import (
    JOB_PREFIX,
    group_members,
    job_id_of,
    live_process,
    signal_group,
)
from eflows_kernel.services.executions.rendering import render_step
from eflows_kernel.services.executions.staged_data import link_into, staged_dirs
from eflows_kernel.services.executions.store import (
    LOCAL_SITE,
    Execution,
    ExecutionState,
    ExecutionStore,
)
from eflows_kernel.services.workflows import Workflow, local_application
from eflows_kernel.services.workflows.model import Step

if TYPE_CHECKING:
    from eflows_kernel.services.executions.step_runner import StepMover

log = logging.getLogger(__name__)

RESTART_ERROR = "the server restarted; local runs do not survive it"
_POLL = 0.1


@dataclass
class _Run:
    """What the executor knows about one live subprocess (or an adopted one)."""

    execution_id: str
    pid: int
    process: subprocess.Popen[bytes] | None  # None when adopted after a restart
    cancel_requested: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    kill_at: float | None = None  # monotonic time of the SIGKILL if SIGTERM is ignored
    step: Step | None = None  # the step it runs (its declared outputs), None when adopted


class LocalExecutor:
    """The :class:`~eflows_kernel.services.executions.executor.Executor` of this host.

    States go ``queued -> running -> done/failed`` (by exit code), or
    ``cancelling -> cancelled`` on request. ``start`` returns as soon as the
    subprocess is started; a watcher thread per run waits for it and records the end.
    """

    def __init__(self, executions: ExecutionStore, runs_dir: Path,
                 workers: int | None = None, python: str = sys.executable,
                 grace_period: float = 5.0) -> None:
        self.executions = executions
        self.runs_dir = Path(runs_dir)
        self.workers = workers
        self.python = python
        self.grace_period = grace_period
        self._runs: dict[str, _Run] = {}
        self._lock = threading.RLock()  # state transitions of watcher vs cancel
        # Its jobs' data-service movements, steps of their own (the graph's StepMover),
        # done through this host's shell: the composition root gives them (they need
        # the data logistics). None: it does none (such a step fails, saying so).
        self.movements: StepMover | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(runs_dir={str(self.runs_dir)!r})"

    # ---- submitting --------------------------------------------------------------------

    def target(self, site: str, credential_id: str | None, login: str | None,
               answers: Mapping[str, str]) -> Target:
        """This host: it needs no password or one-time code, and runs as the server's user."""
        if answers:
            message = "the local site needs no password or one-time code"
            raise ValidationError(message, fields={"site": message})
        return Target(LOCAL_SITE, login, place=LOCAL_SITE)

    def start(self, plan: ExecutionPlan, step: StepPlan, target: Target,
              record: Record) -> Execution:
        """Start the step's subprocess; an application not on this host is refused first."""
        rendered, arguments = render_step(step.step, plan.values)
        application = self._application(plan.workflow, rendered)
        staged = staged_dirs(step, plan.values)
        with self._lock:  # a cancel must not slip in between create and start
            return self._start(record(), application, arguments, step.step, staged)

    def _start(self, execution: Execution, application: Path,
               arguments: list[str], step: Step, staged: tuple[Path, ...] = ()) -> Execution:
        run_dir = self.runs_dir / execution.id
        events = run_dir / EVENT_LOG
        argv = [self.python, "-m", "eflows_kernel.engine.runner"]
        if self.workers is not None:
            argv += ["--workers", str(self.workers)]
        argv += ["--event-log", str(events), "--run-id", execution.id,
                 *checkpoints.runner_options(step, str(run_dir)), str(application),
                 *arguments]
        try:
            run_dir.mkdir(parents=True, exist_ok=False)
            if execution.resumed_from:  # the earlier run's checkpoint, copied: it stays
                shutil.copytree(self.runs_dir / execution.resumed_from / checkpoints.FOLDER,
                                run_dir / checkpoints.FOLDER, symlinks=True)
            self.executions.set_event_log(execution.id, str(events))
            for source in staged:  # what its stage-in steps brought, where it reads it
                try:
                    link_into(source, run_dir)
                except OSError as exc:
                    raise OSError(f"linking the data staged in at {source}: {exc}") from exc
            with open(run_dir / OUTPUT_LOG, "wb") as output:
                process = subprocess.Popen(
                    argv, cwd=run_dir, stdin=subprocess.DEVNULL, stdout=output,
                    stderr=subprocess.STDOUT, env=self._environment(),
                    start_new_session=True)
        except OSError as exc:
            return self.executions.set_state(execution.id, ExecutionState.FAILED,
                                             "could not start",
                                             error=f"could not start the run: {exc}")
        run = _Run(execution.id, process.pid, process, step=step)
        self._runs[execution.id] = run
        try:
            job = job_id_of(psutil.Process(process.pid))
        except psutil.Error:  # already gone: the watcher records the end
            job = f"{JOB_PREFIX}:{process.pid}:0"
        self.executions.set_remote_job(execution.id, job)
        execution = self.executions.set_state(execution.id, ExecutionState.RUNNING,
                                              f"pid {process.pid}")
        threading.Thread(target=self._watch, args=(run,), daemon=True,
                         name=f"eflows-local-{execution.id[:8]}").start()
        return execution

    def _application(self, workflow: Workflow, application: str) -> Path:
        """The step's application file on this host.

        Python-file registrations store an absolute path; folders (and TOSCA
        registries) store it relative to the folder, as on the cluster.
        """
        found = local_application(workflow, application)
        if found is not None:
            return found
        raise ValidationError(f"the application {application!r} of workflow "
                              f"{workflow.name!r} is not on this host (a workflow that came "
                              "from a folder or a file runs only what is inside it)",
                              application=application)

    @staticmethod
    def _environment() -> dict[str, str]:
        """The server's environment, plus what a live log and the runner need.

        Unbuffered output so ``logs`` shows progress as it happens; the project on
        ``PYTHONPATH`` so ``-m eflows_kernel...`` works from the run folder even
        when the package is not installed.
        """
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        root = str(SOURCE_ROOT)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        return env

    # ---- watching ----------------------------------------------------------------------

    def _watch(self, run: _Run) -> None:
        """Wait for the subprocess, then record how it ended."""
        try:
            code: int | None = None
            while True:
                if run.process is not None:
                    try:
                        code = run.process.wait(timeout=_POLL)
                        break
                    except subprocess.TimeoutExpired:
                        pass
                elif not live_process(self.executions.get(run.execution_id).remote_job_id):
                    break
                else:
                    time.sleep(_POLL)
                if run.kill_at is not None and time.monotonic() >= run.kill_at:
                    signal_group(run.pid, signal.SIGKILL)  # SIGTERM was not enough
                    run.kill_at = time.monotonic() + self.grace_period
            if run.cancel_requested.is_set():
                self._reap_group(run.pid)
            self._finish(run, code)
        except Exception:  # never let a watcher die silently with a run "running"
            log.exception("watching local execution %s failed", run.execution_id)
        finally:
            run.finished.set()
            with self._lock:
                self._runs.pop(run.execution_id, None)

    def _finish(self, run: _Run, code: int | None) -> None:
        with self._lock:
            execution = self.executions.get(run.execution_id)
            if execution.finished:
                return
            if run.cancel_requested.is_set() or execution.state == ExecutionState.CANCELLING:
                self.executions.set_state(run.execution_id, ExecutionState.CANCELLED,
                                          "process group terminated")
                return
            if code is None:  # adopted: the exit code is lost, the event log says it
                code = 0 if self._run_state(execution) == "done" else 1
            missing = None if code != 0 or run.step is None else missing_outputs(
                run.step, str(self.runs_dir / run.execution_id), LOCAL_SITE,
                lambda paths: [p for p in paths if not os.path.exists(p)])
            if missing is not None:  # what later steps read is not there: it failed
                self.executions.set_state(run.execution_id, ExecutionState.FAILED,
                                          "a declared output is missing", error=missing)
            elif code == 0:
                self.executions.set_state(run.execution_id, ExecutionState.DONE, "exit code 0")
            else:
                tail = log_tail(self.runs_dir / run.execution_id / OUTPUT_LOG)
                error = f"the application exited with status {code}" + (
                    f":\n{tail}" if tail else "")
                self.executions.set_state(run.execution_id, ExecutionState.FAILED,
                                          f"exit code {code}", error=error)

    @staticmethod
    def _run_state(execution: Execution) -> str | None:
        """The state of the run's final ``run`` event, if the log has one."""
        if not execution.event_log:
            return None
        try:
            events = read_events(execution.event_log)
        except (OSError, ValueError):
            return None
        states = [e.get("state") for e in events if e.get("type") == "run"]
        return states[-1] if states else None

    def _reap_group(self, pgid: int) -> None:
        """Wait until the process group is empty, escalating to SIGKILL after the grace."""
        deadline = time.monotonic() + self.grace_period
        while group_members(pgid):
            if time.monotonic() >= deadline:
                signal_group(pgid, signal.SIGKILL)
                deadline = time.monotonic() + self.grace_period
            time.sleep(_POLL)

    # ---- cancelling --------------------------------------------------------------------

    def cancel(self, execution: Execution) -> Execution:
        """Ask the run to stop: ``cancelling`` now, ``cancelled`` once its group is gone.

        SIGTERM first (Dask workers and the runner may clean up), SIGKILL to the
        whole group after the grace period.
        """
        with self._lock:  # the watcher may have finished it since: read it again
            execution = self.executions.get_unfinished(execution.id)
            if execution.state == ExecutionState.CANCELLING:
                return execution
            execution = self.executions.set_state(execution.id, ExecutionState.CANCELLING,
                                                  "cancel requested")
            run = self._runs.get(execution.id)
            if run is None:
                process = live_process(execution.remote_job_id)
                if process is not None:  # started by an earlier server: adopt to kill it
                    run = self._adopt(execution, process)
            if run is None:  # nothing runs (never started or already gone)
                return self.executions.set_state(execution.id, ExecutionState.CANCELLED,
                                                 "no process was running")
            self._terminate(run)
            return execution

    def _terminate(self, run: _Run) -> None:
        """SIGTERM the run's group now; the watcher sends SIGKILL after the grace."""
        run.kill_at = time.monotonic() + self.grace_period
        run.cancel_requested.set()
        signal_group(run.pid, signal.SIGTERM)

    def _adopt(self, execution: Execution, process: psutil.Process) -> _Run:
        run = _Run(execution.id, process.pid, None)
        self._runs[execution.id] = run
        threading.Thread(target=self._watch, args=(run,), daemon=True,
                         name=f"eflows-local-{execution.id[:8]}").start()
        return run

    # ---- reading -----------------------------------------------------------------------

    def logs(self, execution: Execution, offset: int, size: int | None) -> tuple[str, int]:
        """The run's stdout and stderr from byte ``offset`` (at most ``size`` bytes)."""
        return read_text_chunk(self.runs_dir / execution.id / OUTPUT_LOG, offset, size)

    # ---- server life -------------------------------------------------------------------

    def checkpoint_tasks(self, execution: Execution) -> int:
        return checkpoints.local_committed(self.runs_dir / execution.id)

    def recover(self, executions: Sequence[Execution]) -> None:
        """At start-up: settle the local executions an earlier server left unfinished.

        Their subprocess is no longer our child, so nobody would record its end. If
        it is gone, the execution failed ("the server restarted..."); if it still
        runs it is adopted and watched (polling), so it can still be cancelled.
        """
        for execution in executions:
            with self._lock:
                if execution.id in self._runs:
                    continue
                process = live_process(execution.remote_job_id)
                try:
                    if process is not None and execution.state != ExecutionState.CANCELLING:
                        self._adopt(execution, process)
                    elif process is not None:
                        self._terminate(self._adopt(execution, process))
                    elif execution.state == ExecutionState.CANCELLING:
                        self.executions.set_state(execution.id, ExecutionState.CANCELLED,
                                                  "process gone after a server restart")
                    else:
                        self.executions.set_state(execution.id, ExecutionState.FAILED,
                                                  "server restart", error=RESTART_ERROR)
                except ConflictError:  # finished meanwhile by someone else
                    continue

    def shutdown(self, timeout: float | None = None, cancel: bool = True) -> None:
        """Cancel every run of this executor and wait for them (server shutdown).

        Local runs die with the server anyway; cancelling them records it honestly
        instead of leaving them "running" for ``recover`` to fail. ``cancel=False``
        (a script's client closing) leaves them running, for the next process to adopt.
        Movements stop either way (their commands would outlive this process), left
        unfinished for the next process to do again.
        """
        stop = getattr(self.movements, "shutdown", None)
        if stop is not None:
            stop()
        if not cancel:
            return
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            with contextlib.suppress(ConflictError, NotFoundError):
                self.cancel(self.executions.get(run.execution_id))
        limit = timeout if timeout is not None else 2 * self.grace_period + 5
        deadline = time.monotonic() + limit
        for run in runs:
            run.finished.wait(max(0.0, deadline - time.monotonic()))
