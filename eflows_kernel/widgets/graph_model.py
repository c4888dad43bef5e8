"""What a task-graph view shows, computed from task events alone (no widgets).

Positions are fixed when a task first appears: its layer is one below its deepest
dependency, its slot the next free one in that layer, alternating right and left of
the centre. So new tasks never move the ones already drawn. The model also keeps
every attempt (for the timeline and the task details: worker, times, error, output,
CPU and memory), per-function aggregates (:mod:`graph_stats`), and marks what changed
since it was last asked (:meth:`RunGraphModel.take_changes`).

One state machine decides what the whole view says (:meth:`RunGraphModel.status`),
and a run that ends leaves nothing looking alive: unfinished tasks turn cancelled and
open attempts are closed, whatever the producer managed to report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eflows_kernel.widgets.graph_stats import STATES, FunctionStats
from eflows_kernel.widgets.graph_steps import StepEvents

RUN_ENDED = ("done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")
#: Event fields the model reads; any other field of a task event is kept as is in
#: ``TaskInfo.extra`` and shown with the task's details (e.g. a binary task's command).
KNOWN_FIELDS = frozenset({
    "v", "seq", "run", "ts", "type", "task", "state", "name", "deps", "groups", "args",
    "attempt", "worker", "worker_name", "started", "ended", "error", "final", "on_failure",
    "reason", "priority", "constraints", "stdout", "stderr", "usage"})
#: Characters of task output the model keeps in memory in all; past it, only failed
#: attempts keep theirs (the event log has everything).
OUTPUT_BUDGET = 64_000_000


@dataclass(slots=True)
class Attempt:
    """One attempt of a task: a bar on the timeline, a row of the task's details."""

    index: int  # place in RunGraphModel.attempts
    task: int
    number: int
    worker: str
    started: float
    ended: float | None = None
    state: str = "running"
    error: str | None = None
    stdout: str | None = None
    stderr: str | None = None
    usage: dict[str, float] | None = None


@dataclass(slots=True)
class TaskInfo:
    id: int
    name: str
    state: str
    deps: tuple[int, ...]
    layer: int
    x: float
    index: int  # order of appearance: the node's place in the drawing
    attempt: int = 0
    worker: str | None = None  # display name of the worker of the latest attempt
    started: float | None = None
    ended: float | None = None
    error: str | None = None
    args: dict[str, str] | None = None
    groups: tuple[str, ...] = ()
    reason: str | None = None
    on_failure: str | None = None
    attempts: list[int] = field(default_factory=list)  # indices into model.attempts
    extra: dict[str, Any] | None = None

    @property
    def duration(self) -> float | None:
        if self.started is None:
            return None
        return (self.ended or self.started) - self.started


def first_line(text: str) -> str:
    """The line of an error that says what happened (the last non-empty one)."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return (lines[-1] if lines else "")[:160]


def worker_label(address: str) -> str:
    """A worker's address without the scheme, for when no host/name was reported."""
    return address.split("://", 1)[-1]


def _slot_x(slot: int) -> float:
    """0, 1, -1, 2, -2...: rows grow from the centre, existing slots never move."""
    return float((slot + 1) // 2 * (1 if slot % 2 else -1))


class RunGraphModel:
    """Task graph of one run, built from its events; tracks changes between renders."""

    def __init__(self, first_task: int | None = None) -> None:
        self.first_task = first_task or 1
        self.last_task: int | None = None  # set when the view's cell has ended
        self.tasks: dict[int, TaskInfo] = {}
        self.order: list[int] = []  # task ids in order of appearance
        self.functions: dict[str, FunctionStats] = {}
        self.counts: dict[str, int] = dict.fromkeys(STATES, 0)
        self.layer_sizes: list[int] = []
        self._taken: list[set[float]] = []  # x positions used, per layer
        self._free_slot: dict[tuple[int, float | None], int] = {}
        self.attempts: list[Attempt] = []
        self._open: dict[int, Attempt] = {}  # task id -> its running attempt
        self.workers: dict[str, int] = {}  # display name -> row, in order of appearance
        self._worker_names: dict[str, str] = {}  # address -> display name
        self.steps = StepEvents()  # a step graph's steps (its log tags their events)
        self.run_state: str | None = None
        self.run_id: str | None = None
        self.run_error: str | None = None
        self.first_ts: float | None = None  # earliest time seen (the timeline's zero)
        self.last_ts: float | None = None  # latest event time
        self.ended_at: float | None = None
        self.last_seq = 0
        self._output_chars = 0
        # Changes since take_changes():
        self.new_tasks: list[int] = []
        self.changed_tasks: set[int] = set()
        self.changed_attempts: set[int] = set()
        self.functions_changed = False
        self.header_changed = False

    # -- summary ----------------------------------------------------------------------
    @property
    def total(self) -> int:
        return len(self.tasks)

    @property
    def finished(self) -> int:
        return self.counts["done"] + self.counts["failed"] + self.counts["cancelled"]

    def status(self) -> str:
        """What the whole view says: waiting, running, done, failed or cancelled.

        The run's own final state wins. Before it, tasks decide: all finished means
        done, unless a failure stopped things (failed) or everything left was
        cancelled (cancelled); a failure whose ``on_failure`` is IGNORE is no failure
        of the whole.
        """
        if self.run_state in RUN_ENDED:
            return self.run_state
        if not self.tasks:
            return "waiting"
        if self.finished < self.total:
            return "running"
        if any(t.state == "failed" and t.on_failure != "IGNORE" for t in self._failed()):
            return "failed"
        if self.counts["cancelled"]:
            return "cancelled"
        return "done"

    def _failed(self) -> list[TaskInfo]:
        if not self.counts["failed"]:
            return []
        return [t for t in self.tasks.values() if t.state == "failed"]

    def eta(self, now: float | None = None) -> float | None:
        """Seconds until every task has finished, from the rate they finish at."""
        remaining = self.total - self.finished
        if remaining == 0:
            return 0.0
        starts = [f.first_started for f in self.functions.values()
                  if f.first_started is not None]
        now = self.last_ts if now is None else now
        if not starts or now is None or self.finished == 0:
            return None
        elapsed = now - min(starts)
        return remaining * elapsed / self.finished if elapsed > 0 else None

    # -- events -----------------------------------------------------------------------
    def apply(self, event: dict[str, Any]) -> None:
        self.last_seq = max(self.last_seq, event.get("seq", 0))
        ts = event.get("ts")
        if isinstance(ts, int | float):
            self.last_ts = ts if self.last_ts is None else max(self.last_ts, ts)
        if "step" in event:
            rewritten = self.steps.rewrite(event)
            if rewritten is None:
                if event.get("type") == "step":
                    self.header_changed = True
                    if self.run_state is None and self.steps.any_active:
                        self.run_state = "running"
                return
            event = rewritten
        kind = event.get("type")
        if kind == "task":
            self._apply_task(event)
        elif kind == "run":
            self._apply_run(event)

    def _apply_run(self, event: dict[str, Any]) -> None:
        if (event.get("state") in RUN_ENDED and self.last_task is not None
                and self.tasks and self.finished == self.total):
            # A sealed cell's graph whose tasks had all ended: the run ending later (a
            # later cell's failure, a stop) is not this graph's outcome.
            return
        self.run_state = event["state"]
        self.run_id = event.get("run")
        self.header_changed = True
        if self.run_state in RUN_ENDED:
            self.run_error = event.get("error")
            self.ended_at = event.get("ts")
            self._end_run(self.ended_at)

    def _end_run(self, ts: float | None) -> None:
        """Nothing stays pending or running once the run has ended."""
        for task_id in list(self._open):
            self._close_attempt(task_id, ts, "cancelled")
        if self.finished == self.total:
            return
        for info in self.tasks.values():
            if info.state not in FINISHED:
                self._set_state(info, "cancelled")
                info.reason = info.reason or f"the run ended ({self.run_state})"
                self.changed_tasks.add(info.id)

    def _apply_task(self, event: dict[str, Any]) -> None:
        task_id = event["task"]
        if task_id < self.first_task or (self.last_task is not None and task_id > self.last_task):
            return
        info = self.tasks.get(task_id)
        state = event["state"]
        if info is None:
            if "name" not in event:
                return  # joined mid-run without the task's first event
            info = self._add(event)
        else:
            self._set_state(info, state)
        for key in ("attempt", "started", "ended", "error", "reason", "on_failure"):
            if key in event:
                setattr(info, key, event[key])
        if "worker" in event:
            info.worker = self._worker(event["worker"], event.get("worker_name"))
        unknown = event.keys() - KNOWN_FIELDS
        if unknown:
            info.extra = {**(info.extra or {}), **{k: event[k] for k in unknown}}
        if state == "running":
            info.ended = None  # a new attempt
            self._open_attempt(info, event)
        elif state in ("done", "failed"):
            self._finish_attempt(info, state, event)
        elif state == "cancelled" and task_id in self._open:
            self._close_attempt(task_id, event.get("ts"), "cancelled")
        self.changed_tasks.add(task_id)
        self.header_changed = True
        self.functions_changed = True

    def _worker(self, address: str, name: str | None) -> str:
        if name:
            self._worker_names[address] = name
        label = self._worker_names.get(address) or worker_label(address)
        if label not in self.workers:
            self.workers[label] = len(self.workers)
        return label

    def _open_attempt(self, info: TaskInfo, event: dict[str, Any]) -> None:
        started = event.get("started", event.get("ts"))
        if info.worker is None or started is None:
            return
        previous = self._open.pop(info.id, None)
        if previous is not None:  # a running report without the end of the one before
            self._close_attempt_record(previous, started, "failed")
        attempt = Attempt(len(self.attempts), info.id, event.get("attempt") or 1,
                          info.worker, started)
        self._note_time(started)
        self.attempts.append(attempt)
        info.attempts.append(attempt.index)
        self._open[info.id] = attempt
        self.changed_attempts.add(attempt.index)

    def _finish_attempt(self, info: TaskInfo, state: str, event: dict[str, Any]) -> None:
        attempt = self._open.pop(info.id, None)
        if attempt is None:
            started = event.get("started")
            if started is None:
                return
            attempt = Attempt(len(self.attempts), info.id, event.get("attempt") or 1,
                              info.worker or "?", started)
            self._note_time(started)
            self.attempts.append(attempt)
            info.attempts.append(attempt.index)
        self._close_attempt_record(attempt, event.get("ended", event.get("ts")), state)
        attempt.error = event.get("error")
        attempt.usage = event.get("usage")
        for key in ("stdout", "stderr"):
            text = event.get(key)
            if text and (state == "failed" or self._output_chars < OUTPUT_BUDGET):
                self._output_chars += len(text)
                setattr(attempt, key, text)
        if attempt.ended is not None and attempt.started is not None:
            stats = self.functions[info.name]
            stats.attempt_ended(attempt.started, attempt.ended, ok=state == "done")

    def _close_attempt(self, task_id: int, ts: float | None, state: str) -> None:
        attempt = self._open.pop(task_id, None)
        if attempt is not None:
            self._close_attempt_record(attempt, ts, state)

    def _close_attempt_record(self, attempt: Attempt, ts: float | None, state: str) -> None:
        attempt.ended = ts if ts is not None else attempt.started
        attempt.state = state
        self.changed_attempts.add(attempt.index)

    def _note_time(self, ts: float) -> None:
        if self.first_ts is None or ts < self.first_ts:
            self.first_ts = ts

    def _add(self, event: dict[str, Any]) -> TaskInfo:
        deps = tuple(event.get("deps") or ())
        layer = 0
        for dep in deps:
            dep_info = self.tasks.get(dep)
            if dep_info is not None:
                layer = max(layer, dep_info.layer + 1)
        info = TaskInfo(event["task"], event["name"], event["state"], deps, layer,
                        self._place(layer, deps), len(self.order), args=event.get("args"),
                        groups=tuple(event.get("groups") or ()))
        self.tasks[info.id] = info
        self.order.append(info.id)
        self.counts[info.state] += 1
        self._function(info).counts[info.state] += 1
        self.new_tasks.append(info.id)
        return info

    def _place(self, layer: int, deps: tuple[int, ...]) -> float:
        """A free spot in ``layer``, under the task's dependencies when possible.

        Tasks without dependencies fill their row from left to right; others take
        the free spot nearest to the mean position of their dependencies (searching
        outwards both ways), so edges stay short and mostly vertical. The search
        resumes where the last one for the same spot stopped, so a wide fan-out
        costs no more than a narrow one.
        """
        while len(self.layer_sizes) <= layer:
            self.layer_sizes.append(0)
            self._taken.append(set())
        taken = self._taken[layer]
        drawn = [self.tasks[d].x for d in deps if d in self.tasks]
        self.layer_sizes[layer] += 1
        if not drawn:
            slot = self._free_slot.get((layer, None), 0)
            while float(slot) in taken:
                slot += 1
            self._free_slot[(layer, None)] = slot + 1
            x = float(slot)
        else:
            target = round(2 * sum(drawn) / len(drawn)) / 2  # to the half step
            step = self._free_slot.get((layer, target), 0)
            while target + _slot_x(step) in taken:
                step += 1
            self._free_slot[(layer, target)] = step + 1
            x = target + _slot_x(step)
        taken.add(x)
        return x

    def _function(self, info: TaskInfo) -> FunctionStats:
        stats = self.functions.get(info.name)
        dep_names = {self.tasks[d].name for d in info.deps if d in self.tasks}
        if stats is None:
            layer = max((self.functions[n].layer + 1 for n in dep_names
                         if n in self.functions), default=0)
            same_layer = sum(1 for f in self.functions.values() if f.layer == layer)
            stats = FunctionStats(info.name, layer, _slot_x(same_layer), len(self.functions))
            self.functions[info.name] = stats
        stats.deps |= dep_names - {info.name}
        return stats

    def _set_state(self, info: TaskInfo, state: str) -> None:
        if state == info.state:
            return
        self.counts[info.state] -= 1
        self.counts[state] += 1
        stats = self.functions[info.name]
        stats.counts[info.state] -= 1
        stats.counts[state] += 1
        info.state = state

    # -- changes ----------------------------------------------------------------------
    def take_changes(self) -> tuple[list[int], set[int], set[int]]:
        """New task ids, changed task ids and changed attempt indices since the last
        call (what the front end must be told)."""
        new, changed, attempts = self.new_tasks, self.changed_tasks, self.changed_attempts
        self.new_tasks, self.changed_tasks, self.changed_attempts = [], set(), set()
        self.header_changed = self.functions_changed = False
        return new, changed, attempts

    @property
    def has_changes(self) -> bool:
        return bool(self.new_tasks or self.changed_tasks or self.changed_attempts
                    or self.header_changed or self.functions_changed)

    def edges(self, task_ids: list[int]) -> list[tuple[TaskInfo, TaskInfo]]:
        """(dependency, task) pairs of the given tasks, both drawn."""
        pairs = []
        for task_id in task_ids:
            info = self.tasks[task_id]
            for dep in info.deps:
                dep_info = self.tasks.get(dep)
                if dep_info is not None:
                    pairs.append((dep_info, info))
        return pairs

    def failed_tasks(self) -> list[TaskInfo]:
        return self._failed()

    def task_attempts(self, info: TaskInfo) -> list[Attempt]:
        return [self.attempts[i] for i in info.attempts]


__all__ = ["FINISHED", "RUN_ENDED", "STATES", "Attempt", "FunctionStats", "RunGraphModel",
           "TaskInfo", "first_line", "worker_label"]
