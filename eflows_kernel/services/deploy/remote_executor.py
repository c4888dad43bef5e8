"""Executions on remote sites: deploy, follow live, stage out, cancel, survive restarts.

The REST API and the client call this for every site but ``local``, with the same
methods as :class:`~eflows_kernel.services.executions.local.LocalExecutor`. A run goes
``queued -> staging-in -> submitted -> running -> staging-out -> done`` (or ``failed``,
or ``cancelling -> cancelled``). Its events (deployer stages, transfers, and the task
events of the run, copied live from the site) are in ``<runs_dir>/<id>/events.jsonl``.

Remote runs do not depend on this server: when it stops they go on, and when it starts
again :meth:`recover` re-attaches to them from the last event it had.
"""

from __future__ import annotations

import logging
import posixpath
import threading
import time
from pathlib import Path
from typing import Any

from eflows_kernel.events import EVENT_LOG, read_events
from eflows_kernel.services.deploy import pipeline
from eflows_kernel.services.deploy.environment import EnvironmentBuilder
from eflows_kernel.services.deploy.finish import FORGOTTEN, Finisher
from eflows_kernel.services.deploy.job_poller import JobPoller
from eflows_kernel.services.deploy.jobs import backend_for
from eflows_kernel.services.deploy.ownership import FollowedElsewhere, disown, own
from eflows_kernel.services.deploy.recovery import Recovery
from eflows_kernel.services.deploy.run_log import RunLog
from eflows_kernel.services.deploy.staging import application_source
from eflows_kernel.services.deploy.staging import plan as plan_data
from eflows_kernel.services.errors import (
    ConflictError,
    NotFoundError,
    ServiceError,
    ValidationError,
)
from eflows_kernel.services.executions import Execution, ExecutionState, ExecutionStore
from eflows_kernel.services.executions.logs import (
    OUTPUT_LOG,
    check_log_range,
    decode_prefix,
    read_text_chunk,
)
from eflows_kernel.services.hpc import slurm, ssh
from eflows_kernel.services.hpc.connections import ConnectionPool, PooledConnection
from eflows_kernel.services.hpc.remote_events import RemoteEventTail
from eflows_kernel.services.sites import Site, SiteService
from eflows_kernel.services.workflows import (
    ArgumentRenderError,
    InputValidationError,
    Workflow,
    render_arguments,
    validate_inputs,
)
from eflows_kernel.services.workflows.registry import WorkflowRegistry

log = logging.getLogger(__name__)

CANCEL_RETRY = 15.0  # seconds after which a cancel the site did not act on is sent again
TAILS_PER_CONNECTION = 8  # sshd's MaxSessions is 10 by default; keep room for short commands
_POLL = 0.1


class RemoteExecutor(Recovery):
    """Deploys registered workflows to remote sites and follows them to the end."""

    def __init__(self, executions: ExecutionStore, registry: WorkflowRegistry,
                 sites: SiteService, runs_dir: Path, cache_dir: Path | None = None,
                 wheel: str | None = None, poll_interval: float = 2.0) -> None:
        self.executions = executions
        self.registry = registry
        self.sites = sites
        self.runs_dir = Path(runs_dir)
        self.environments = EnvironmentBuilder(cache_dir or self.runs_dir.parent / "cache",
                                               wheel)
        self.poll_interval = poll_interval
        self.pool = ConnectionPool(self._open)
        self._deployments: dict[str, pipeline.Deployment] = {}
        self._pollers: dict[tuple[str, str | None], JobPoller] = {}
        self._tail_load: dict[PooledConnection, int] = {}
        self._lock = threading.RLock()
        self._closed = False
        self.finisher = Finisher(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(runs_dir={str(self.runs_dir)!r})"

    def _open(self, site_id: str, credential_id: str | None,
              answers: dict[str, str] | None) -> Any:
        answers = answers or {}
        code = answers.get("otp")
        return self.sites.connect(site_id.split("#", 1)[0], credential_id,
                                  password=answers.get("password"),
                                  otp=(lambda _prompt: code) if code else None)

    # ---- submitting --------------------------------------------------------------------

    def submit(self, workflow_id: str, inputs: dict[str, Any], site: str,
               credential_id: str | None = None, login: str | None = None, *,
               password: str | None = None, one_time_code: str | None = None) -> Execution:
        """Check everything checkable here, create the execution, deploy in the background.

        A bad input, a missing local file, an untrusted site or a missing credential is
        refused now and leaves nothing behind. ``password`` / ``one_time_code``: for sites
        whose login asks for them; used to open the site's connection if it is not open
        already, never stored, and that one connection then serves every step and run.
        """
        answers = {k: v for k, v in (("password", password), ("otp", one_time_code)) if v}
        if self._closed:
            raise ConflictError("the remote executor is shut down")
        target = pipeline.check_site(self.sites, site, credential_id, login,
                                     bool(answers) or self._has_session(site, credential_id))
        workflow = self.registry.get(workflow_id).workflow
        try:
            values = validate_inputs(workflow, inputs)
        except InputValidationError as exc:
            raise ValidationError(str(exc), fields=exc.errors) from None
        if not workflow.steps:
            raise ValidationError(f"workflow {workflow.name!r} has no step to run",
                                  id=workflow_id)
        data = plan_data(workflow, values)
        step = workflow.steps[0]
        try:
            arguments = render_arguments(list(step.arguments), data.values)
            application = application_source(workflow, render_arguments(step.application, values))
        except ArgumentRenderError as exc:
            raise ValidationError(str(exc), fields={exc.name: str(exc)}) from None
        execution = self.executions.create(workflow_id, values, target.name, credential_id,
                                           login=target.config.login)
        run_folder = self.runs_dir / execution.id
        run_folder.mkdir(parents=True, exist_ok=True)
        self.executions.set_event_log(execution.id, str(run_folder / EVENT_LOG))
        dep = self._deployment(execution, target, workflow, data, arguments, application,
                               answers)
        self._start(dep, self._deploy)
        return self.executions.get(execution.id)

    def _has_session(self, site_name: str, credential_id: str | None) -> bool:
        """A login the user answered earlier is still open: no need to ask again."""
        try:
            site_id = self.sites.get_by_name(site_name).id
        except NotFoundError:
            return False
        return self.pool.is_open(site_id, credential_id)

    def _deployment(self, execution: Execution, site: Site, workflow: Workflow,
                    data: Any, arguments: list[str], application: tuple[str, str, str],
                    answers: dict[str, str] | None = None) -> pipeline.Deployment:
        owner = own(self.runs_dir / execution.id)
        if owner is None:
            raise FollowedElsewhere(execution.id)
        runlog = RunLog(self.runs_dir / execution.id / EVENT_LOG, execution.id)
        identity = (site.config.host, site.config.port, site.config.login,
                    site.host_key.fingerprint if site.host_key else None)
        connection = self.pool.connection(site.id, execution.credential_id, site.name,
                                          identity)
        connection.offer(answers)
        # A login that asks the user cannot open more connections: the tail shares it.
        tails = connection if (answers or connection.interactive) else \
            self._tail_connection(site, execution.credential_id, identity)
        dep = pipeline.Deployment(
            execution.id, site, execution.credential_id, workflow, data, arguments,
            application, runlog, connection, tails, job_id=execution.remote_job_id,
            owner=owner)
        with self._lock:
            self._deployments[execution.id] = dep
        return dep

    def _tail_connection(self, site: Site, credential_id: str | None,
                         identity: tuple[object, ...]) -> PooledConnection:
        """A connection for one more event tail: a new one every TAILS_PER_CONNECTION runs."""
        with self._lock:
            index = 0
            while True:
                connection = self.pool.connection(f"{site.id}#tail{index}", credential_id,
                                                  f"{site.name} (events {index})", identity)
                if self._tail_load.get(connection, 0) < TAILS_PER_CONNECTION:
                    self._tail_load[connection] = self._tail_load.get(connection, 0) + 1
                    return connection
                index += 1

    def _start(self, dep: pipeline.Deployment, target: Any, *args: Any) -> None:
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
            dep.log.stage("cancel", "done", "cancelled before the job was submitted")
            self.set_state(dep, ExecutionState.CANCELLED, "cancelled before submission")
            self.release(dep)
        except Exception as error:
            if self._closed:
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
                dep.log.stage(dep.stage, "failed", message.splitlines()[0][:300])
            self.set_state(dep, ExecutionState.FAILED, f"{dep.stage} failed",
                              error=message)
            self.release(dep)

    def _deploy(self, dep: pipeline.Deployment) -> None:
        self.set_state(dep, ExecutionState.STAGING_IN, "deploying to the site")
        with dep.connection.work_slot():
            request = pipeline.prepare(dep, self.environments)
            job_id = pipeline.submit(dep, request)
        self.executions.set_remote_job(dep.execution_id, job_id)
        self.set_state(dep, ExecutionState.SUBMITTED, f"job {job_id}")
        if dep.cancel.is_set():  # a cancel arrived while sbatch ran
            self._send_cancel(dep)
        self._follow(dep)

    def set_state(self, dep: pipeline.Deployment, state: ExecutionState, detail: str,
                  error: str | None = None) -> None:
        """Move the execution on; a final state only after the log is on disk (a stream
        that sees the execution finished must find every event)."""
        if state.finished:
            dep.log.flush()
        with self._lock:
            current = self.executions.get(dep.execution_id)
            if current.finished or current.state == state or (
                    current.state == ExecutionState.CANCELLING and not state.finished):
                return  # (the same state again would only grow the history)
            self.executions.set_state(dep.execution_id, state, detail, error=error)

    # ---- following ---------------------------------------------------------------------

    def _follow(self, dep: pipeline.Deployment) -> None:
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
        with self._lock:
            poller = self._pollers.get(key)
            if poller is None:
                poller = JobPoller(dep.connection, backend_for(dep.site.config),
                                   self.poll_interval)
                self._pollers[key] = poller
            return poller

    def _on_event(self, dep: pipeline.Deployment, event: dict[str, Any]) -> None:
        if dep.log.mirror(event):
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
        if not state.finished:
            if state.execution_state == ExecutionState.RUNNING:
                self.set_state(dep, ExecutionState.RUNNING, f"job {dep.job_id} running")
            if dep.cancel.is_set() and time.monotonic() - dep.cancel_sent > CANCEL_RETRY:
                self._send_cancel_async(dep)  # the last one did not land
            if dep.tail is not None and not dep.tail.alive and not dep.tail.finished:
                log.info("eflows: following %s again", dep.execution_id)
                self._start_tail(dep)  # it gave up (long outage); the job still runs
            return
        with self._lock:
            if dep.finalizing:
                return
            dep.finalizing = True
        self._poller(dep).unwatch(dep.job_id or "")
        self._start(dep, self.finisher.finish, state)

    # ---- cancelling --------------------------------------------------------------------

    def cancel(self, execution_id: str) -> Execution:
        """``cancelling`` now; ``cancelled`` once the site confirms the job is gone."""
        with self._lock:
            execution = self.executions.get(execution_id)
            if execution.finished:
                raise ConflictError(f"execution {execution_id} is already "
                                    f"{execution.state.value}", id=execution_id,
                                    state=execution.state.value)
            dep = self._deployments.get(execution_id)
            if dep is None and execution.remote_job_id:
                # Nobody here follows it (a server that is gone, or another process does):
                # take it over to cancel it, or say who has it.
                try:
                    self._recover(execution)
                except FollowedElsewhere:
                    raise ConflictError(
                        f"execution {execution_id} is followed by another process (a Jupyter "
                        "server or a script on this account): cancel it there",
                        id=execution_id) from None
                dep = self._deployments.get(execution_id)
            if execution.state == ExecutionState.CANCELLING:
                if dep is not None and dep.job_id:
                    self._send_cancel_async(dep)  # asked again: send it again
                return execution
            execution = self.executions.set_state(execution_id, ExecutionState.CANCELLING,
                                                  "cancel requested")
            if dep is None:  # never submitted and nothing deploys it: nothing runs
                return self.executions.set_state(execution_id, ExecutionState.CANCELLED,
                                                 "nothing was running")
            dep.cancel.set()
            if dep.job_id:
                self._send_cancel_async(dep)
            return execution

    def _send_cancel_async(self, dep: pipeline.Deployment) -> None:
        dep.cancel_sent = time.monotonic()
        threading.Thread(target=self._send_cancel, args=(dep,), daemon=True,
                         name=f"eflows-cancel-{dep.execution_id[:8]}").start()

    def _send_cancel(self, dep: pipeline.Deployment) -> None:
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

    # ---- reading -----------------------------------------------------------------------

    def logs(self, execution_id: str, offset: int = 0,
             size: int | None = None) -> tuple[str, int]:
        """The job's stdout/stderr from byte ``offset``: from the site while it runs."""
        check_log_range(offset, size)
        self.executions.get(execution_id)
        local = self.runs_dir / execution_id / OUTPUT_LOG
        if local.is_file():
            return read_text_chunk(local, offset, size)
        dep = self._deployments.get(execution_id)
        if dep is None or not dep.run_dir or not dep.job_id:
            return "", offset
        try:
            with dep.connection.get().open_sftp() as sftp, \
                    sftp.open(posixpath.join(dep.run_dir, OUTPUT_LOG), "rb") as handle:
                handle.seek(offset)
                data = handle.read(size if size is not None else 1 << 20)
        except (OSError, ssh.SSHError):
            return "", offset
        text, used = decode_prefix(data)
        return text, offset + used

    def events(self, execution_id: str, from_seq: int = 0) -> list[dict[str, Any]]:
        execution = self.executions.get(execution_id)
        if not execution.event_log or not Path(execution.event_log).is_file():
            return []
        return read_events(execution.event_log, from_seq)

    def wait(self, execution_id: str, timeout: float) -> Execution:
        """The execution once finished, or as it is when ``timeout`` seconds have passed."""
        return self.executions.wait(execution_id, timeout, _POLL)

    # ---- server life -------------------------------------------------------------------

    def release(self, dep: pipeline.Deployment) -> None:
        """The execution is over (or given up): stop following it, let others have it."""
        with self._lock:
            self._deployments.pop(dep.execution_id, None)
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
        """Stop following (the remote runs go on; the next server re-attaches)."""
        self._closed = True
        with self._lock:
            deployments = list(self._deployments.values())
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
