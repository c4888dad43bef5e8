"""Periodic transfers: a movement repeated every period, kept in the state database.

A schedule is either bound to an execution (``every: 10m`` on a movement: sync a
results folder out of the cluster while the run goes; it ends with the run) or
independent of runs. Its next and last run, how the last one ended and how many ran
are columns of ``transfer_schedules``, so a restarted server picks up where the last
one stopped (a run due while the server was down fires once at start, not once per
missed period); a paused schedule keeps its place and does not fire.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from eflows_kernel.services.errors import NotFoundError, ValidationError
from eflows_kernel.services.state.store import StateStore
from eflows_kernel.services.state.tables import TransferScheduleRow

_PERIOD = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
MIN_PERIOD_S = 1
MAX_PERIOD_S = 366 * 86400


def parse_period(value: str | int) -> int:
    """Seconds of ``10m``, ``1h30m``, ``45s``, ``2d`` (or a number of seconds)."""
    if isinstance(value, bool):
        raise ValidationError("every must be a period such as 10m, 1h or 30s", every=value)
    if isinstance(value, int):
        seconds = value
    else:
        match = _PERIOD.match(str(value).strip().lower()) if value else None
        if not match or not any(match.groups()):
            raise ValidationError(f"every must be a period such as 10m, 1h30m or 30s, not "
                                  f"{str(value)[:40]!r}", every=str(value)[:40])
        d, h, m, s = (int(g or 0) for g in match.groups())
        seconds = ((d * 24 + h) * 60 + m) * 60 + s
    if not MIN_PERIOD_S <= seconds <= MAX_PERIOD_S:
        raise ValidationError(f"every must be from {MIN_PERIOD_S} s to 366 days",
                              every=str(value)[:40])
    return seconds


class ScheduleSpec(BaseModel):
    """What a schedule moves: the ends as :mod:`movements` reads them, and the site."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=4096)
    target: str = Field(min_length=1, max_length=4096)
    every: str | int
    kind: str = Field(default="http", description="movement kind: how a bare location reads")
    site: str | None = Field(default=None, max_length=200,
                             description="the site 'cluster:' paths are on")
    credential_id: str | None = Field(default=None, max_length=200,
                                      description="the SSH credential for the site")
    source_credential: str | None = Field(default=None, max_length=200)
    target_credential: str | None = Field(default=None, max_length=200)
    contents: bool = Field(default=False, description=(
        "a site folder's files go into the data service's location, not the folder "
        "itself (as the DLS's WebDAV stage-out writes them)"))
    paused: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if any(ord(c) < 32 for c in value):
            raise ValueError("name must be one line of text")
        return value


@dataclass(frozen=True)
class Schedule:
    id: str
    name: str
    spec: dict[str, Any]
    every_s: int
    execution_id: str | None
    paused: bool
    next_run: datetime
    last_run: datetime | None
    last_state: str | None
    last_error: str | None
    runs: int
    created_at: datetime
    last_sync: dict[str, Any] | None = None  # files sent / up to date by the last firing

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "source": self.spec.get("source"),
                "target": self.spec.get("target"), "site": self.spec.get("site"),
                "kind": self.spec.get("kind"), "contents": bool(self.spec.get("contents")),
                "every_s": self.every_s,
                "every": self.spec.get("every"), "execution_id": self.execution_id,
                "paused": self.paused, "next_run": self.next_run.isoformat(),
                "last_run": self.last_run.isoformat() if self.last_run else None,
                "last_state": self.last_state, "last_error": self.last_error,
                "runs": self.runs, "created_at": self.created_at.isoformat(),
                "last_sync": self.last_sync}


def _schedule(row: TransferScheduleRow) -> Schedule:
    return Schedule(row.id, row.name, dict(row.spec), row.every_s, row.execution_id,
                    bool(row.paused), row.next_run, row.last_run, row.last_state,
                    row.last_error, row.runs, row.created_at,
                    dict(row.last_sync) if row.last_sync else None)


def _now() -> datetime:
    return datetime.now(timezone.utc)


class ScheduleStore:
    """The schedules in the state database (every process sees the same)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def add(self, spec: ScheduleSpec, execution_id: str | None = None,
            first_run: datetime | None = None) -> Schedule:
        every = parse_period(spec.every)
        now = _now()
        row = TransferScheduleRow(
            id="s" + secrets.token_hex(8), name=spec.name, spec=spec.model_dump(mode="json"),
            every_s=every, execution_id=execution_id, paused=int(spec.paused),
            next_run=first_run or now, last_run=None, runs=0, created_at=now)
        with self.store.session() as session:
            session.add(row)
        return _schedule(row)

    def _row(self, session: Any, schedule_id: str) -> TransferScheduleRow:
        row = session.get(TransferScheduleRow, schedule_id) \
            if isinstance(schedule_id, str) else None
        if row is None:
            raise NotFoundError(f"no transfer schedule with id {schedule_id!r}",
                                id=str(schedule_id)[:80])
        return row  # type: ignore[no-any-return]

    def get(self, schedule_id: str) -> Schedule:
        with self.store.session(write=False) as session:
            return _schedule(self._row(session, schedule_id))

    def list(self, execution_id: str | None = None) -> list[Schedule]:
        query = select(TransferScheduleRow).order_by(TransferScheduleRow.created_at,
                                                     TransferScheduleRow.id)
        if execution_id is not None:
            query = query.where(TransferScheduleRow.execution_id == execution_id)
        with self.store.session(write=False) as session:
            return [_schedule(r) for r in session.scalars(query)]

    def set_paused(self, schedule_id: str, paused: bool) -> Schedule:
        with self.store.session() as session:
            row = self._row(session, schedule_id)
            row.paused = int(paused)
            if not paused and row.next_run < _now():
                row.next_run = _now()  # resumed: fires now, once
            return _schedule(row)

    def delete(self, schedule_id: str) -> None:
        with self.store.session() as session:
            session.delete(self._row(session, schedule_id))

    def delete_for(self, execution_id: str) -> int:
        """Forget the schedules of a finished execution; how many there were."""
        with self.store.session() as session:
            rows = list(session.scalars(select(TransferScheduleRow).where(
                TransferScheduleRow.execution_id == execution_id)))
            for row in rows:
                session.delete(row)
            return len(rows)

    def claim_due(self, now: datetime | None = None) -> list[Schedule]:
        """The schedules due now, each moved to its next period in the same transaction,
        so two processes on one database never both run the same firing."""
        now = now or _now()
        with self.store.session() as session:
            rows = list(session.scalars(select(TransferScheduleRow).where(
                TransferScheduleRow.paused == 0, TransferScheduleRow.next_run <= now)))
            due = [_schedule(r) for r in rows]
            for row in rows:
                row.next_run = now + timedelta(seconds=row.every_s)
                row.last_state = "running"
            return due

    def record(self, schedule_id: str, state: str, error: str | None,
               when: datetime | None = None) -> None:
        """How a firing ended (a schedule deleted meanwhile is simply gone)."""
        with self.store.session() as session:
            row = session.get(TransferScheduleRow, schedule_id)
            if row is None:
                return
            row.last_run, row.last_state = when or _now(), state
            row.last_error = error[:2000] if error else None
            row.runs += 1

    def next_due(self) -> datetime | None:
        with self.store.session(write=False) as session:
            return session.scalars(select(TransferScheduleRow.next_run).where(
                TransferScheduleRow.paused == 0).order_by(
                TransferScheduleRow.next_run).limit(1)).first()
