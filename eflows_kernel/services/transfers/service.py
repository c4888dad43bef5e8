"""Periodic transfers as a service: checked schedules, and the thread that fires them.

:class:`TransfersService` checks a schedule when it is made (its ends resolve, its site
and logins exist, the period reads), so a schedule never fails every period for a typo;
:class:`TransferScheduler` (started with the server) claims what is due from the
database and runs each firing in a worker thread, recording how it ended.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from eflows_kernel.services.credentials.service_credentials import ServiceCredentials
from eflows_kernel.services.errors import NotFoundError, ServiceError, ValidationError
from eflows_kernel.services.hpc.transfer.url_policy import UrlPolicy
from eflows_kernel.services.paths import protected_by
from eflows_kernel.services.state.store import StateStore
from eflows_kernel.services.transfers import incremental
from eflows_kernel.services.transfers.locations import check_location
from eflows_kernel.services.transfers.movements import End, end, move
from eflows_kernel.services.transfers.schedules import (
    Schedule,
    ScheduleSpec,
    ScheduleStore,
    parse_period,
)
from eflows_kernel.services.transfers.synced import SyncedFiles

log = logging.getLogger(__name__)
TICK_S = 0.5  # how often the scheduler looks for due schedules at most


class TransfersService:
    """Make, list, pause, resume, delete and fire periodic transfers."""

    def __init__(self, store: StateStore, credentials: Callable[[], ServiceCredentials],
                 sites: Callable[[], Any],
                 execution_over: Callable[[str], bool] | None = None,
                 url_policy: UrlPolicy | None = None, protected: Sequence[Path] = ()) -> None:
        self.schedules = ScheduleStore(store)
        self.synced = SyncedFiles(store)  # what each sync of a site folder sent
        self._credentials, self._sites = credentials, sites
        # The same rules as a run's data: the hosts a data service may be on, and what on
        # this machine is never read or written by a movement (docs/security.md).
        self.url_policy, self.protected = url_policy, tuple(protected)
        # Whether the run a schedule is bound to has ended (a run that failed before its
        # finisher could drop its syncs must not leave them firing forever).
        self._execution_over = execution_over
        self._scheduler: TransferScheduler | None = None

    def _ends(self, spec: ScheduleSpec) -> tuple[End, End]:
        problems: dict[str, str] = {}
        ends: list[End] = []
        for field, value, login in (("source", spec.source, spec.source_credential),
                                    ("target", spec.target, spec.target_credential)):
            try:
                found = end(value, self._credentials(), spec.kind, login)
                if found.location is not None and self.url_policy is not None:
                    # Now: no secret in the URL (it is stored). Its host is checked at
                    # every firing, by each request (it may resolve elsewhere by then).
                    check_location(found.location, replace(self.url_policy,
                                                           allow_private=True))
                elif found.kind == "local":
                    root = protected_by(found.path, self.protected)
                    if root is not None:
                        raise ValidationError(
                            f"{value} is or holds the server's private data ({root}: the "
                            "vault key, the state database, SSH keys or the runs); no "
                            "movement reads or writes it")
                ends.append(found)
            except ServiceError as error:
                problems[field] = error.message
        if problems:
            raise ValidationError("; ".join(f"{k}: {v}" for k, v in problems.items()),
                                  fields=problems)
        return ends[0], ends[1]

    def check(self, spec: ScheduleSpec) -> tuple[End, End]:
        """The ends of a schedule, or a 400 naming the field that is wrong."""
        parse_period(spec.every)
        source, target = self._ends(spec)
        if "cluster" in (source.kind, target.kind):
            if not spec.site:
                raise ValidationError("a 'cluster:' end needs the site it is on",
                                      fields={"site": "required with a cluster: path"})
            sites = self._sites()
            try:
                sites.get_by_name(spec.site)
            except ServiceError:
                raise ValidationError(f"no site named {spec.site!r}",
                                      fields={"site": f"no site named {spec.site!r}"}) from None
            if not spec.credential_id:
                raise ValidationError("a 'cluster:' end needs the SSH credential for the site",
                                      fields={"credential_id": "required with a site"})
            self._check_credential(sites, spec.credential_id)
        return source, target

    @staticmethod
    def _check_credential(sites: Any, credential_id: str) -> None:
        """The SSH credential is in the vault: a typo is a 400 now, not a failed firing
        every period (read from the vault's index only, the key is not decrypted)."""
        try:
            sites.vault.get(credential_id)
        except NotFoundError:
            message = f"no SSH credential {credential_id!r} in the vault"
            raise ValidationError(message, fields={"credential_id": message}) from None

    def add(self, spec: ScheduleSpec | dict[str, Any], execution_id: str | None = None,
            first_run: datetime | None = None) -> Schedule:
        """Check and store a schedule (first fired at ``first_run``, else now); the
        scheduler is woken, so its first firing is not late by its idle wait."""
        if not isinstance(spec, ScheduleSpec):
            spec = ScheduleSpec.model_validate(spec)
        self.check(spec)
        schedule = self.schedules.add(spec, execution_id, first_run=first_run)
        if self._scheduler is not None:
            self._scheduler.wake()
        return schedule

    def list(self, execution_id: str | None = None) -> list[Schedule]:
        return self.schedules.list(execution_id)

    def get(self, schedule_id: str) -> Schedule:
        return self.schedules.get(schedule_id)

    def pause(self, schedule_id: str) -> Schedule:
        return self.schedules.set_paused(schedule_id, True)

    def resume(self, schedule_id: str) -> Schedule:
        schedule = self.schedules.set_paused(schedule_id, False)
        if self._scheduler is not None:
            self._scheduler.wake()
        return schedule

    def delete(self, schedule_id: str) -> None:
        self.schedules.delete(schedule_id)

    def wait_idle(self, schedule_ids: Sequence[str], timeout: float) -> bool:
        """Wait until no firing of these schedules runs here (one started before they
        were deleted would otherwise land older files after a final copy)."""
        scheduler = self._scheduler
        return scheduler.wait_idle(schedule_ids, timeout) if scheduler is not None else True

    def fire(self, schedule: Schedule) -> None:
        """One firing of a schedule: the movement, now (raises what went wrong)."""
        if schedule.execution_id and self._execution_over is not None and \
                self._execution_over(schedule.execution_id):
            self.schedules.delete_for(schedule.execution_id)
            return
        spec = ScheduleSpec.model_validate(schedule.spec)
        source, target = self._ends(spec)
        connect = None
        if spec.site and "cluster" in (source.kind, target.kind):
            site = self._sites().get_by_name(spec.site)
            credential = spec.credential_id

            def connect() -> Any:
                return self._sites().connect(site.id, credential)

        if connect is not None and incremental.applies(source, target):
            # A site folder: only what changed since the last firing that ended.
            incremental.sync(schedule.id, source, target, spec.contents, self._credentials(),
                             connect, self.synced, self.url_policy)
            return
        # A schedule syncs: its site folder may be written meanwhile (a running job's).
        move(source, target, self._credentials(), connect, policy=self.url_policy,
             contents=spec.contents, changing=True)

    # ---- the scheduler -----------------------------------------------------------------

    def start(self) -> None:
        if self._scheduler is None:
            self._scheduler = TransferScheduler(self.schedules, self.fire)
            self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.stop()
            self._scheduler = None


class TransferScheduler:
    """A thread that fires due schedules (at most ``workers`` at once) until stopped."""

    def __init__(self, schedules: ScheduleStore, fire: Callable[[Schedule], None],
                 workers: int = 2) -> None:
        self.schedules, self.fire = schedules, fire
        self._stop, self._wake = threading.Event(), threading.Event()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="eflows-transfer")
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._thread = threading.Thread(target=self._loop, name="eflows-transfer-scheduler",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def wait_idle(self, schedule_ids: Sequence[str], timeout: float) -> bool:
        """True once no firing of ``schedule_ids`` runs (False: still one at ``timeout``)."""
        ids = set(schedule_ids)
        with self._idle:
            return self._idle.wait_for(lambda: not self._running & ids, timeout)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                for schedule in self.schedules.claim_due():
                    with self._lock:
                        if schedule.id in self._running:
                            continue  # the last firing still runs: this one is skipped
                        self._running.add(schedule.id)
                    self._pool.submit(self._run, schedule)
                due = self.schedules.next_due()
            except Exception:
                log.exception("eflows: looking for due transfers failed")
                due = None
            wait = TICK_S * 20
            if due is not None:
                wait = max(0.05, min(wait, (due - datetime.now(timezone.utc)).total_seconds()))
            self._wake.wait(wait)
            self._wake.clear()

    def _run(self, schedule: Schedule) -> None:
        try:
            self.fire(schedule)
        except Exception as error:
            message = error.message if isinstance(error, ServiceError) else \
                f"{type(error).__name__}: {error}"
            log.warning("eflows: transfer %s (%s) failed: %s", schedule.id, schedule.name,
                        message)
            self.schedules.record(schedule.id, "failed", message)
        else:
            self.schedules.record(schedule.id, "done", None)
        finally:
            with self._idle:
                self._running.discard(schedule.id)
                self._idle.notify_all()
