"""The execution store: every run of a workflow on a site, from queued to its end.

The deployer writes states, the remote job id, outputs and the event log path
here as the run progresses; after a restart of the Jupyter server a monitor
finds the unfinished ones with :meth:`ExecutionStore.running` and re-attaches
from ``event_seq``. Records are never rewritten in place: the state history
only grows, so a user can see what happened even after a failure.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, String, cast, func, or_, select

from eflows_kernel.services.errors import ConflictError, NotFoundError, ValidationError
from eflows_kernel.services.executions.plan import driven_by_graph
from eflows_kernel.services.lifecycle import FINISHED, ExecutionState
from eflows_kernel.services.state import Page, StateStore, check_page
from eflows_kernel.services.state.tables import ExecutionRow, WorkflowRow, utcnow

LOCAL_SITE = "local"  # this host: where an execution runs when no configured site is named


class HPCWaaSStatus(str, Enum):
    """The statuses of the eFlows4HPC Execution API (``GET /executions/<id>``)."""

    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    CANCELLING = "CANCELLING"
    CANCELLED = "CANCELLED"


HPCWAAS_STATUS: dict[ExecutionState, HPCWaaSStatus] = {
    ExecutionState.QUEUED: HPCWaaSStatus.RUNNING,
    ExecutionState.STAGING_IN: HPCWaaSStatus.RUNNING,
    ExecutionState.SUBMITTED: HPCWaaSStatus.RUNNING,
    ExecutionState.RUNNING: HPCWaaSStatus.RUNNING,
    ExecutionState.STAGING_OUT: HPCWaaSStatus.RUNNING,
    ExecutionState.DONE: HPCWaaSStatus.SUCCESS,
    ExecutionState.FAILED: HPCWaaSStatus.FAILED,
    ExecutionState.CANCELLING: HPCWaaSStatus.CANCELLING,
    ExecutionState.CANCELLED: HPCWaaSStatus.CANCELLED,
}


def _state(value: ExecutionState | str) -> ExecutionState:
    try:
        return ExecutionState(value)
    except ValueError:
        known = ", ".join(s.value for s in ExecutionState)
        raise ValidationError(f"unknown execution state {value!r} (one of {known})",
                              state=str(value)) from None


class StateChange(BaseModel):
    """One entry of the history: the state entered, when, and why (optional)."""

    state: ExecutionState
    at: datetime
    detail: str | None = None


class Execution(BaseModel):
    """One execution record, as the services and the REST API see it."""

    id: str
    workflow_id: str
    site: str
    credential_id: str | None
    login: str | None = None  # the account on the site (HPCWaaS user_id)
    inputs: dict[str, Any]
    state: ExecutionState
    state_history: list[StateChange]
    outputs: dict[str, Any]
    remote_job_id: str | None
    event_log: str | None
    event_seq: int
    error: str | None
    created_at: datetime
    updated_at: datetime
    parent_id: str | None = None  # a step of a step graph: the graph's execution
    step: str | None = None  # ... and the workflow step it runs
    step_sites: dict[str, str] | None = None  # a step graph: the site of each step
    queue: dict[str, str] | None = None  # Slurm's state, reason, time_limit (remote runs)
    resumed_from: str | None = None  # the run whose checkpoints this one started from

    @property
    def is_graph(self) -> bool:
        """This execution runs a step graph (its steps are executions of their own)."""
        return self.step_sites is not None

    @property
    def site_binding(self) -> str | dict[str, str]:
        """The ``site`` to trigger this run again with, as it was bound: ``site`` (the
        first step's) would put every step of a graph on several sites on that one, so
        such a graph is bound by its workflow's step names (the copies and movements
        the plan added are planned again)."""
        own = self._own_step_sites
        return own if len(set(own.values())) > 1 else self.site

    @property
    def _own_step_sites(self) -> dict[str, str]:
        """The workflow's own steps and their sites (not the copies and movements)."""
        return {step: site for step, site in (self.step_sites or {}).items()
                if not driven_by_graph(step)}

    @property
    def sites(self) -> list[str]:
        """Every site the execution runs on, in step order: ``site`` alone is the first
        step's, so a graph on several sites would show (and be found on) only that one."""
        found = list(dict.fromkeys(self._own_step_sites.values()))
        return found if found else [self.site]

    @property
    def steps_by_site(self) -> dict[str, list[str]]:
        """Each site the execution runs on -> the workflow steps it runs there (one site
        and no steps for a run of one step)."""
        grouped: dict[str, list[str]] = {}
        for step, site in self._own_step_sites.items():
            grouped.setdefault(site, []).append(step)
        return grouped or {self.site: []}

    @property
    def sites_text(self) -> str:
        """``cluster-a`` for a run on one site, ``cluster-a, cluster-b`` for a graph on
        two: what a list shows in its site column."""
        return ", ".join(self.sites)

    def runs_on(self, site: str) -> bool:
        """The execution runs (a step of it, at least) on ``site``."""
        return site in self.sites

    @property
    def finished(self) -> bool:
        return self.state.finished

    @property
    def hpcwaas_status(self) -> HPCWaaSStatus:
        return HPCWAAS_STATUS[self.state]

    def hpcwaas(self) -> dict[str, Any]:
        """The HPCWaaS ``GET /executions/<id>`` body."""
        return {"id": self.id, "status": self.hpcwaas_status.value, "outputs": self.outputs}


def _model(row: ExecutionRow) -> Execution:
    return Execution.model_validate(row, from_attributes=True)


def _change(state: ExecutionState, detail: str | None) -> dict[str, Any]:
    return {"state": state.value, "at": utcnow().isoformat(), "detail": detail}


def _check_unfinished(execution_id: str, state: ExecutionState) -> None:
    if state.finished:
        raise ConflictError(f"execution {execution_id} is already {state.value}",
                            id=execution_id, state=state.value)


class ExecutionStore:
    """Create, read, list and advance execution records."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r})"

    def create(self, workflow_id: str, inputs: Mapping[str, Any], site: str,
               credential_id: str | None = None, login: str | None = None, *,
               parent_id: str | None = None, step: str | None = None,
               step_sites: Mapping[str, str] | None = None,
               resumed_from: str | None = None) -> Execution:
        """A new execution in state ``queued``; the workflow must be registered.

        Inputs are stored as given (checking them against the workflow's
        declaration is the deployer's job, before it calls this). ``step_sites``: the
        execution runs a step graph; ``parent_id`` + ``step``: it is one of its steps.
        """
        if not isinstance(inputs, Mapping):
            raise ValidationError("inputs must be a mapping of input name to value")
        if not isinstance(site, str) or not site:
            raise ValidationError("site must be a non-empty string")
        now = utcnow()
        with self.store.session() as session:
            if session.get(WorkflowRow, workflow_id) is None:
                raise NotFoundError(f"no workflow with id {workflow_id!r}", id=workflow_id)
            row = ExecutionRow(
                id=uuid.uuid4().hex, workflow_id=workflow_id, site=site,
                credential_id=credential_id, login=login, inputs=dict(inputs),
                state=ExecutionState.QUEUED.value,
                state_history=[_change(ExecutionState.QUEUED, None)], outputs={},
                remote_job_id=None, event_log=None, event_seq=0, error=None,
                created_at=now, updated_at=now, parent_id=parent_id, step=step,
                step_sites=dict(step_sites) if step_sites is not None else None,
                resumed_from=resumed_from)
            session.add(row)
            session.flush()
            return _model(row)

    def get(self, execution_id: str) -> Execution:
        with self.store.session(write=False) as session:
            return _model(self._row(session, execution_id))

    def get_unfinished(self, execution_id: str) -> Execution:
        """The execution if it has not finished; a finished one is final (``ConflictError``,
        e.g. for a cancel that comes after the end)."""
        execution = self.get(execution_id)
        _check_unfinished(execution.id, execution.state)
        return execution

    @staticmethod
    def _row(session: Any, execution_id: str) -> ExecutionRow:
        row = session.get(ExecutionRow, execution_id) if isinstance(execution_id, str) else None
        if row is None:
            raise NotFoundError(f"no execution with id {execution_id!r}", id=execution_id)
        return row

    def list(self, state: ExecutionState | str | Iterable[ExecutionState | str] | None = None,
             workflow_id: str | None = None, site: str | None = None, limit: int = 50,
             offset: int = 0) -> Page[Execution]:
        """Executions matching every filter given, newest first (not the steps of graphs:
        they are listed by :meth:`steps`). ``site``: those running on it, a graph with
        any of its steps there."""
        check_page(limit, offset)
        query: Select[tuple[ExecutionRow]] = select(ExecutionRow).where(
            ExecutionRow.parent_id.is_(None))
        if state is not None:
            states = [state] if isinstance(state, str | ExecutionState) else list(state)
            query = query.where(ExecutionRow.state.in_([_state(s).value for s in states]))
        if workflow_id is not None:
            query = query.where(ExecutionRow.workflow_id == workflow_id)
        with self.store.session(write=False) as session:
            if site is not None:
                query = query.where(or_(ExecutionRow.site == site,
                                        ExecutionRow.id.in_(self._graphs_on(session, site))))
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(query.order_by(ExecutionRow.created_at.desc(),
                                                  ExecutionRow.id.desc())
                                   .limit(limit).offset(offset))
            items = [_model(row) for row in rows]
        return Page[Execution](items=items, total=total, limit=limit, offset=offset)

    @staticmethod
    def _graphs_on(session: Any, site: str) -> list[str]:
        """The step graphs with a step on ``site`` other than their first: ``site`` holds
        the first step's only, and the steps' sites are one JSON value, which SQLite and
        PostgreSQL query differently, so they are read here (graphs' ids and sites only)."""
        rows = session.execute(select(ExecutionRow.id, ExecutionRow.step_sites).where(
            ExecutionRow.parent_id.is_(None), ExecutionRow.site != site,
            ExecutionRow.step_sites.is_not(None),  # (a run of one step: SQL or JSON null)
            cast(ExecutionRow.step_sites, String) != "null"))
        return [row_id for row_id, sites in rows
                if site in {v for k, v in (sites or {}).items() if not driven_by_graph(k)}]

    def running(self) -> list[Execution]:
        """Every unfinished execution, oldest first: what a monitor re-attaches to."""
        unfinished = [s.value for s in ExecutionState if s not in FINISHED]
        with self.store.session(write=False) as session:
            rows = session.scalars(select(ExecutionRow)
                                   .where(ExecutionRow.state.in_(unfinished))
                                   .order_by(ExecutionRow.created_at, ExecutionRow.id))
            return [_model(row) for row in rows]

    def steps(self, parent_id: str) -> list[Execution]:
        """The step executions of a step graph's execution, oldest first."""
        with self.store.session(write=False) as session:
            rows = session.scalars(select(ExecutionRow)
                                   .where(ExecutionRow.parent_id == parent_id)
                                   .order_by(ExecutionRow.created_at, ExecutionRow.id))
            return [_model(row) for row in rows]

    # ---- changes -----------------------------------------------------------------------

    def set_state(self, execution_id: str, state: ExecutionState | str,
                  detail: str | None = None, *, error: str | None = None,
                  only_from: ExecutionState | None = None) -> Execution:
        """Enter ``state`` and append it to the history.

        A finished execution (done, failed, cancelled) is final: moving it again
        is a ``ConflictError`` (e.g. a cancel arriving after the end). ``error``
        records why it failed. ``only_from``: move only from that state (else leave it
        as it is), so a cancel just asked is not overwritten by a step that started.
        """
        new = _state(state)
        with self.store.session() as session:
            row = self._row(session, execution_id)
            _check_unfinished(execution_id, ExecutionState(row.state))
            if only_from is not None and row.state != only_from.value:
                return _model(row)
            row.state = new.value
            row.state_history = [*row.state_history, _change(new, detail)]
            if error is not None:
                row.error = error
            row.updated_at = utcnow()
            session.flush()
            return _model(row)

    def _update(self, execution_id: str, **values: Any) -> Execution:
        with self.store.session() as session:
            row = self._row(session, execution_id)
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = utcnow()
            session.flush()
            return _model(row)

    def set_outputs(self, execution_id: str, outputs: Mapping[str, Any]) -> Execution:
        """Replace the outputs (HPCWaaS ``outputs``: names to values or paths)."""
        if not isinstance(outputs, Mapping):
            raise ValidationError("outputs must be a mapping")
        return self._update(execution_id, outputs=dict(outputs))

    def set_remote_job(self, execution_id: str, remote_job_id: str | None) -> Execution:
        """The batch system's job id (Slurm), so the job can be polled or cancelled."""
        return self._update(execution_id, remote_job_id=remote_job_id)

    def set_queue(self, execution_id: str, queue: Mapping[str, str]) -> Execution:
        """What the batch system says of the job now (the poller writes it on a change)."""
        return self._update(execution_id, queue=dict(queue))

    def set_event_log(self, execution_id: str, path: str | None,
                      seq: int | None = None) -> Execution:
        """Where the events are (local copy) and, optionally, the last sequence number read."""
        values: dict[str, Any] = {"event_log": None if path is None else str(path)}
        if seq is not None:
            values["event_seq"] = seq
        return self._update(execution_id, **values)

    def set_event_seq(self, execution_id: str, seq: int) -> Execution:
        """The last event sequence number read, for resuming after a restart."""
        return self._update(execution_id, event_seq=seq)

    def wait(self, execution_id: str, timeout: float, interval: float = 0.1) -> Execution:
        """The execution once finished, or as it is when ``timeout`` seconds have passed."""
        deadline = time.monotonic() + timeout
        while True:
            execution = self.get(execution_id)
            if execution.finished or time.monotonic() >= deadline:
                return execution
            time.sleep(interval)
