"""Movement steps: a job's data-service stage-in or stage-out as a step of the graph.

Why a step: a movement has its own state, events, failure and cancel, apart from the
job's (``plan.py:movement_step_name``). A stage-in cannot write into the job's run
directory (that exists once the job step has its record and connection), so it runs
like a copy step: into its own run directory on the site,
``<workdir>/runs/<movement execution id>/<target>``, which the job's deployment links
into its own before the job runs (``pipeline.prepare``: hard links, the data is not
copied). A stage-out runs after its job succeeded, reading from the job's run
directory. Both go through ``movements.py`` (the data services) or, for HTTP->SSH,
the site fetches the URL itself; a movement cut by a restart is done again and resumes
(spool, ``.part``, sha256). The local site's are these on this host's own shell, where
only the session and the stage-in's directory differ (``local_movements.py``).
"""

from __future__ import annotations

import contextlib
import logging
import posixpath
import shlex
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from eflows_kernel.services.deploy.background_steps import BackgroundSteps
from eflows_kernel.services.deploy.movements import bring_in, send_out
from eflows_kernel.services.deploy.pipeline import resolve_workdir, stage
from eflows_kernel.services.deploy.staging import DataPlan, StageIn, StageOut
from eflows_kernel.services.deploy.staging import plan as plan_data
from eflows_kernel.services.errors import ConflictError, ValidationError
from eflows_kernel.services.executions.logs import OUTPUT_LOG
from eflows_kernel.services.executions.plan import ExecutionPlan, StepPlan
from eflows_kernel.services.executions.store import Execution, ExecutionStore
from eflows_kernel.services.hpc import ssh
from eflows_kernel.services.hpc.connections import PooledConnection
from eflows_kernel.services.hpc.transfer import UrlPolicy, stage_in_url
from eflows_kernel.services.hpc.transfer.site_stream import TransferCancelled
from eflows_kernel.services.lifecycle import ExecutionState
from eflows_kernel.services.sites import Site, SiteService
from eflows_kernel.services.transfers import DataLogistics

log = logging.getLogger(__name__)

Connect = Callable[[Site, str | None], PooledConnection]  # the site's pooled connection


class _Session:
    """The movement's own SSH session (closed to stop a transfer mid-file), or the
    pooled one for a login that asks the user (it cannot open a second): also when
    this movement is the first to log in, with the password given at trigger."""

    def __init__(self, connection: PooledConnection) -> None:
        self.connection = connection
        self.own: Any = None
        self.closed = threading.Event()

    def get(self) -> Any:
        if self.closed.is_set():  # (the pooled one too: nothing more is done on it)
            raise TransferCancelled
        if self.connection.asks_user:
            return self.connection.get()
        if self.own is None:
            self.own = self.connection.fresh()
        return self.own

    def drop(self) -> None:
        if self.connection.asks_user:
            self.connection.drop()
        elif self.own is not None:
            self.own.close()
            self.own = None

    def close(self) -> None:
        self.closed.set()
        if self.own is not None:
            self.own.close()


class MovementSteps(BackgroundSteps):
    """The movement steps of one remote executor (the graph's ``StepMover``)."""

    def __init__(self, store: ExecutionStore, sites: SiteService, runs_dir: Path,
                 connect: Connect, logistics: DataLogistics | None,
                 url_policy: UrlPolicy | None, protected: Sequence[Path] = ()) -> None:
        super().__init__(store, runs_dir)
        self.sites = sites
        self._connect = connect
        self.logistics = logistics
        self.url_policy = url_policy
        self.protected = tuple(protected)
        self._sessions: dict[str, _Session] = {}
        self._closing = threading.Event()

    def _item(self, plan: ExecutionPlan, step: StepPlan,
              check: bool = False) -> StageIn | StageOut:
        """The one movement a step does, as the job's deployment would have done it."""
        data: DataPlan = plan_data(plan.workflow, plan.values, check_local=check,
                                   protected=self.protected, url_policy=self.url_policy,
                                   movements=(step.movement or "",),
                                   logistics=self.logistics)
        items: list[StageIn | StageOut] = [*data.stage_in, *data.stage_out]
        found = next((i for i in items if i.name == step.movement), None)
        if found is None:
            raise ValidationError(f"step {step.name!r}: no data movement {step.movement!r}")
        return found

    def check(self, plan: ExecutionPlan, step: StepPlan) -> None:
        self._item(plan, step, check=True)

    def start(self, execution: Execution, plan: ExecutionPlan, step: StepPlan,
              job_dir: str | None, answers: Mapping[str, str] | None = None) -> None:
        if self.store.get(execution.id).finished:
            return  # it ended a moment ago (a restart's look found it unfinished)
        self._launch(execution, self._run, plan, step, job_dir, dict(answers or {}),
                     kind="move")

    def shutdown(self, timeout: float = 10.0) -> None:
        """This process stops: every movement's session closes (what it runs on the site
        ends, as when the process exits) and its record stays as it is, for the next
        process to do it again, resuming from the spool and ``.part``. Needed where a
        session is this host's shell, whose commands would outlive the process."""
        self._closing.set()
        for session in list(self._sessions.values()):
            session.close()
        deadline = time.monotonic() + timeout
        while self._running and time.monotonic() < deadline:
            time.sleep(0.05)

    def _stop(self, execution: Execution) -> None:
        session = self._sessions.get(execution.id)
        if session is not None:
            session.close()  # the transfer on it fails at once: seen as cancelled

    # ---- the movement ------------------------------------------------------------------

    def _run(self, execution: Execution, plan: ExecutionPlan, step: StepPlan,
             job_dir: str | None, answers: dict[str, str]) -> None:
        folder, events = self._events(execution)
        name = step.movement or ""
        what = f"{'stage-out' if step.stages_out else 'stage-in'} {name!r}"
        phase = "connect"
        try:
            self.store.set_state(execution.id, ExecutionState.RUNNING, f"moving {name!r}")
            item = self._item(plan, step)
            session = self._open(execution, events, answers)
            self._sessions[execution.id] = session
            if self._closing.is_set():  # the stop came while it opened: it found none
                session.close()
            self._check(execution)
            client = session.get()
            if isinstance(item, StageOut):
                phase = "stage-out"
                stage(events, "connect", "done", f"the job's run directory {job_dir}")
                summary = self._out(execution, plan, item, job_dir, session, events)
            else:
                run_dir = self._run_dir(execution, client)
                ssh.run(client, f"umask 077 && mkdir -p {shlex.quote(run_dir)}", timeout=30)
                stage(events, "connect", "done", f"run directory {run_dir}", run_dir=run_dir)
                self._check(execution)
                phase = "stage-in"
                summary = self._in(execution, plan, item, run_dir, session, events)
            (folder / OUTPUT_LOG).write_text(f"{what}: {summary}\n")
            self.store.set_state(execution.id, ExecutionState.DONE, summary[:200])
        except Exception as error:
            if self._closing.is_set() and not self._cancelled(execution):
                log.info("eflows: movement %s stopped with this process", execution.id)
            elif self._cancelled(execution):
                stage(events, "cancel", "done", f"{what} cancelled: no file got its final "
                      "name unless it was complete")
                with contextlib.suppress(ConflictError):
                    self.store.set_state(execution.id, ExecutionState.CANCELLED, "cancelled")
            else:
                log.info("eflows: movement %s failed: %s", execution.id, error)
                message = getattr(error, "message", None) or str(error) or \
                    type(error).__name__
                stage(events, phase, "failed", message[:300])
                with contextlib.suppress(ConflictError):
                    self.store.set_state(execution.id, ExecutionState.FAILED,
                                         f"{phase} failed", error=f"{what}: {message}")
        finally:
            session = self._sessions.pop(execution.id, None)
            if session is not None:
                session.close()
            events.close()
            self._done(execution)

    def _open(self, execution: Execution, events: Any, answers: dict[str, str]) -> _Session:
        """The movement's own session on its site (the ``connect`` stage starts)."""
        site = self.sites.get_by_name(execution.site)
        stage(events, "connect", "running",
              f"{site.config.login}@{site.config.host}:{site.config.port}")
        connection = self._connect(site, execution.credential_id)
        connection.offer(answers)  # a first login's; unused if it is open already
        return _Session(connection)

    def _run_dir(self, execution: Execution, client: Any) -> str:
        """Where a stage-in lands on the site: ``<workdir>/runs/<movement id>``."""
        workdir = self.sites.get_by_name(execution.site).config.workdir
        return posixpath.join(resolve_workdir(client, workdir), "runs", execution.id)

    def _in(self, execution: Execution, plan: ExecutionPlan, item: StageIn | StageOut,
            run_dir: str, session: _Session, events: Any) -> str:
        assert isinstance(item, StageIn)
        target = item.target_dir if item.target_dir.startswith("/") else posixpath.join(
            run_dir, item.target_dir)
        stage(events, "stage-in", "running", f"{item.name}: {item.source} -> {target}")
        if item.kind == "http":
            stage_in_url(session.get(), item.source, target, events, policy=self.url_policy,
                         name=item.file_name)
        else:
            movement = next((m for m in plan.workflow.data_movements if m.name == item.name),
                            None)
            bring_in(session.get(), self.logistics, execution.id, item.name, item.location,
                     target, movement, events)
        stage(events, "stage-in", "done", f"{item.name} in {target}", target=target)
        return f"{item.source} into {target}"

    def _out(self, execution: Execution, plan: ExecutionPlan, item: StageIn | StageOut,
             job_dir: str | None, session: _Session, events: Any) -> str:
        assert isinstance(item, StageOut) and item.location is not None
        if not job_dir and not item.source.startswith("/"):
            raise ValidationError(f"{item.name!r}: the run directory of its job is not known")
        remote = item.source if item.source.startswith("/") else posixpath.join(
            job_dir or "", item.source)
        stage(events, "stage-out", "running", f"{item.name}: {remote}")
        title = f"{plan.workflow.name} {execution.parent_id or execution.id} {item.name}"
        output = send_out(session.get, session.drop, self.logistics, execution.id,
                          item.name, remote, item.location, title, events,
                          contents=item.contents, run_dir=job_dir or "")
        self.store.set_outputs(execution.id, {item.name: output})
        stage(events, "stage-out", "done", f"{item.name} to {output['location']}")
        return f"{remote} to {output['location']}"


__all__ = ["MovementSteps"]
