"""The run's task graph and its state machine, without Dask.

Everything that decides a task's state lives here: pending -> ready when the last
dependency succeeds, worker reports (running, done, failed attempts), the
PyCOMPSs failure rules (cancel successors, cancel a group, stop the run), and the
counters that barriers wait on. The engine feeds it and acts on what it returns
(futures to cancel), so the rules are unit-testable without a cluster.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from eflows_kernel.engine.attempt_details import DETAIL_FIELDS
from eflows_kernel.events.schema import TaskState
from eflows_kernel.events.stream import EventStream
from eflows_kernel.model.exceptions import COMPSsException, TaskFailedError

PENDING = TaskState.PENDING.value
READY = TaskState.READY.value
RUNNING = TaskState.RUNNING.value
DONE = TaskState.DONE.value
FAILED = TaskState.FAILED.value
CANCELLED = TaskState.CANCELLED.value


@dataclass(slots=True, eq=False)
class TaskRecord:
    id: int
    name: str
    on_failure: str
    groups: tuple[str, ...]
    future: Any = None
    deps: tuple[int, ...] = ()
    # Deps it only runs after because it overwrites a file they read: whether they
    # ran, failed or were cancelled, the file it writes is the same, so their end
    # releases it (PyCOMPSs runs it) instead of cancelling it.
    after_readers: frozenset[int] = frozenset()
    successors: list[int] = field(default_factory=list)
    waiting_for: int = 0  # dependencies not yet satisfied
    state: str = PENDING
    finished: bool = False  # no state change will follow
    ok: bool = False  # successors may use its outputs (done, or failure ignored)
    # It raised COMPSsException: it failed, but the INOUT objects and files it wrote
    # exist (PyCOMPSs keeps them), so tasks submitted afterwards may use them.
    data_ok: bool = False
    error: str | None = None
    attempt: int = 0
    worker: str | None = None  # where the current attempt runs


@dataclass(slots=True)
class GroupRecord:
    name: str
    tasks: list[int] = field(default_factory=list)
    unfinished: int = 0
    exception: str | None = None


class RunGraph:
    """Task records plus the transitions between their states."""

    def __init__(self, events: EventStream) -> None:
        self.events = events
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.tasks: dict[int, TaskRecord] = {}
        self.groups: dict[str, GroupRecord] = {}
        self.unfinished = 0
        self.fatal: TaskFailedError | None = None
        self._to_cancel: list[Any] = []
        self._to_interrupt: dict[str, list[int]] = {}  # worker -> running tasks to stop

    # -- submission -------------------------------------------------------------------
    def add(self, record: TaskRecord, first_event: dict[str, Any]) -> None:
        """Register a submitted task; emits its first event (pending, ready or cancelled)."""
        with self.lock:
            self.tasks[record.id] = record
            self.unfinished += 1
            for name in record.groups:
                group = self.groups.setdefault(name, GroupRecord(name))
                group.tasks.append(record.id)
                group.unfinished += 1
            waiting = 0
            doomed_by = None
            for dep_id in record.deps:
                dep = self.tasks[dep_id]
                if dep.finished and not dep.ok and not dep.data_ok \
                        and dep_id not in record.after_readers:
                    doomed_by = dep
                    waiting += 1  # never satisfied: the task stays pending, then is cancelled
                elif not dep.finished:
                    waiting += 1
                if not dep.finished:
                    dep.successors.append(record.id)
            record.waiting_for = waiting
            record.state = PENDING if waiting else READY
            self.events.emit("task", task=record.id, state=record.state, **first_event)
            if doomed_by is not None or self.fatal is not None:
                why = (f"task #{doomed_by.id} {doomed_by.name} did not succeed"
                       if doomed_by is not None else "the run is stopping")
                self._cancel([record], why)

    # -- reports from workers ---------------------------------------------------------
    def report(self, msg: dict[str, Any] | list[dict[str, Any]] | tuple[Any, ...]) -> None:
        """Apply one worker report, or a batch of them (see ``worker.execute_task``)."""
        if isinstance(msg, list | tuple):  # batches arrive as tuples through msgpack
            with self.lock:
                for item in msg:
                    self.report(item)
            return
        with self.lock:
            record = self.tasks.get(msg.get("task", 0))
            if record is None:
                return
            if record.finished:
                if record.state == CANCELLED and msg["state"] == RUNNING and msg.get("worker"):
                    # Dask started it before our cancellation arrived: stop it there.
                    self._to_interrupt.setdefault(msg["worker"], []).append(record.id)
                return
            state = msg["state"]
            common = {"attempt": msg.get("attempt"), "worker": msg.get("worker"),
                      "started": msg.get("started")}
            common.update(msg.get("hpc") or {})  # HPC tasks: hosts, command, exit_value
            common.update((key, msg[key]) for key in DETAIL_FIELDS if key in msg)
            record.attempt = msg.get("attempt") or record.attempt
            if state == RUNNING:
                record.state = RUNNING
                record.worker = msg.get("worker")
                self.events.emit("task", ts=msg.get("started"), task=record.id,
                                 state=RUNNING, **common)
            elif state == DONE:
                self._finish(record, DONE, ok=True, ts=msg.get("ended"), ended=msg.get("ended"),
                             restored=msg.get("restored"), **common)
            elif state == FAILED:
                self._failed(record, msg, common)

    def _failed(self, record: TaskRecord, msg: dict[str, Any], common: dict[str, Any]) -> None:
        error = msg.get("error")
        record.error = error
        ended = msg.get("ended")
        if not msg.get("final"):
            record.state = FAILED
            self.events.emit("task", ts=ended, task=record.id, state=FAILED, ended=ended,
                             error=error, final=False, on_failure=record.on_failure, **common)
            return
        compss_message = msg.get("compss_exception")
        if compss_message is not None and record.groups:
            record.data_ok = True
            self._finish(record, FAILED, ok=False, ts=ended, ended=ended, error=error,
                         final=True, on_failure=record.on_failure, **common)
            for name in record.groups:
                group = self.groups[name]
                if group.exception is None:
                    group.exception = compss_message
                others = [self.tasks[t] for t in group.tasks if not self.tasks[t].finished]
                self._cancel(others, f"task #{record.id} {record.name} raised "
                             f"COMPSsException in group '{name}'")
            self._cancel_successors(record)
            return
        policy = record.on_failure
        ignored = policy == "IGNORE"
        self._finish(record, FAILED, ok=ignored, ts=ended, ended=ended, error=error,
                     final=True, on_failure=policy, **common)
        if ignored:
            return
        self._cancel_successors(record)
        if policy != "CANCEL_SUCCESSORS":
            self.stop_run(TaskFailedError(fatal_failure_message(record, policy, error),
                                          record.id, record.name, error or ""))

    def _finish(self, record: TaskRecord, state: str, ok: bool, ts: float | None = None,
                **fields: Any) -> None:
        record.state = state
        record.finished = True
        record.ok = ok
        record.future = None  # outputs keep their own reference; results can be freed
        self.unfinished -= 1
        for name in record.groups:
            self.groups[name].unfinished -= 1
        self.events.emit("task", ts=ts, task=record.id, state=state, **fields)
        for succ_id in record.successors:
            succ = self.tasks[succ_id]
            if succ.finished or not (ok or record.id in succ.after_readers):
                continue
            succ.waiting_for -= 1
            if succ.waiting_for == 0 and succ.state == PENDING:
                succ.state = READY
                self.events.emit("task", ts=ts, task=succ.id, state=READY)
        self.changed.notify_all()

    # -- cancellation -----------------------------------------------------------------
    def _cancel_successors(self, record: TaskRecord) -> None:
        doomed: list[TaskRecord] = []
        stack = [(record.id, s) for s in record.successors]
        seen: set[int] = set()
        while stack:
            parent, succ_id = stack.pop()
            succ = self.tasks[succ_id]
            if succ.id in seen or succ.finished or parent in succ.after_readers:
                continue  # only overwriting what the parent read: released, not cancelled
            seen.add(succ.id)
            doomed.append(succ)
            stack.extend((succ.id, s) for s in succ.successors)
        self._cancel(doomed, f"task #{record.id} {record.name} did not succeed")

    def _cancel(self, records: Iterable[TaskRecord], reason: str) -> None:
        for record in records:
            if record.finished:
                continue
            if record.future is not None:
                self._to_cancel.append(record.future)
            if record.state == RUNNING and record.worker:
                self._to_interrupt.setdefault(record.worker, []).append(record.id)
            self._finish(record, CANCELLED, ok=False, reason=reason)
            self._cancel_successors(record)

    def cancel_group(self, name: str, reason: str) -> None:
        with self.lock:
            group = self.groups.get(name)
            if group is not None:
                self._cancel([self.tasks[t] for t in group.tasks], reason)

    def cancel_all(self, reason: str) -> None:
        with self.lock:
            self._cancel([r for r in self.tasks.values() if not r.finished], reason)
            self.changed.notify_all()

    def stop_run(self, error: TaskFailedError, reason: str | None = None) -> None:
        """A fatal failure: cancel everything still to do; waiters raise ``error``."""
        with self.lock:
            if self.fatal is None:
                self.fatal = error
            self.cancel_all(reason or f"the run stopped: task #{error.task_id} "
                            f"{error.task_name} failed")

    def take_cancellations(self) -> tuple[list[Any], dict[str, list[int]]]:
        """Futures to cancel in Dask, and running tasks to interrupt per worker."""
        with self.lock:
            futures, self._to_cancel = self._to_cancel, []
            running, self._to_interrupt = self._to_interrupt, {}
            return futures, running

    # -- waiting ----------------------------------------------------------------------
    def wait(self, predicate: Any, poll: float = 0.5, on_poll: Any = None) -> None:
        """Block until ``predicate()`` (called under the lock) or a fatal failure."""
        with self.lock:
            while not predicate() and self.fatal is None:
                if not self.changed.wait(poll) and on_poll is not None:
                    on_poll()
            if self.fatal is not None:
                raise self.fatal

    def take_group_exception(self, name: str) -> COMPSsException | None:
        with self.lock:
            group = self.groups.get(name)
            if group is None or group.exception is None:
                return None
            message, group.exception = group.exception, None
            return COMPSsException(message)

    def dropped(self, task_id: int) -> bool:
        """The versions this task writes will never exist (cancelled, or failed)."""
        record = self.tasks.get(task_id)
        return (record is not None and record.finished and not record.ok
                and not record.data_ok)

    def partial(self, task_id: int) -> bool:
        """It raised COMPSsException: only its INOUT outputs exist."""
        record = self.tasks.get(task_id)
        return record is not None and record.finished and record.data_ok and not record.ok

    def settled(self, task_id: int) -> bool:
        """The versions this task writes exist for good."""
        record = self.tasks.get(task_id)
        return record is not None and record.finished and (record.ok or record.data_ok)

    def counts(self) -> dict[str, int]:
        with self.lock:
            counts: dict[str, int] = {}
            for record in self.tasks.values():
                counts[record.state] = counts.get(record.state, 0) + 1
            return counts


def fatal_failure_message(record: TaskRecord, policy: str, error: str | None) -> str:
    """What happened (how often the task failed, under which policy) and what to do."""
    times = f" {record.attempt} times" if record.attempt > 1 else ""
    default = ", the default" if policy == "RETRY" else ""
    return (f"task '{record.name}' (#{record.id}) failed{times} (on_failure={policy}{default}); "
            "the workflow stopped. Fix the task and run it again, or let the workflow go on "
            "without its result: @task(on_failure='IGNORE'), or 'CANCEL_SUCCESSORS' to "
            f"skip only what depends on it.\n{error or ''}").rstrip()
