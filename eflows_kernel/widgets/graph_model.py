"""What a task-graph view shows, computed from task events alone (no widgets).

Positions are fixed when a task first appears: its layer is one below its deepest
dependency, its slot the next free one in that layer, alternating right and left of
the centre. So new tasks never move the ones already drawn. The model also keeps
per-function aggregates (for runs too large to draw task by task) and the attempts
for the timeline, and marks what changed since the last render.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

STATES = ("pending", "ready", "running", "done", "failed", "cancelled")
STATE_COLOURS = {
    "pending": "#c7c7c7",
    "ready": "#9ecae1",
    "running": "#f0ad4e",
    "done": "#2ca02c",
    "failed": "#d62728",
    "cancelled": "#7f7f7f",
}


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
    worker: str | None = None
    started: float | None = None
    ended: float | None = None
    error: str | None = None
    args: dict[str, str] | None = None
    groups: tuple[str, ...] = ()
    reason: str | None = None

    @property
    def duration(self) -> float | None:
        if self.started is None:
            return None
        return (self.ended or self.started) - self.started

    def hover(self) -> str:
        lines = [f"<b>#{self.id} {self.name}</b>", f"state: {self.state}"]
        if self.attempt:
            lines.append(f"attempt: {self.attempt}")
        if self.duration is not None and self.ended is not None:
            lines.append(f"duration: {self.duration:.3f} s")
        if self.worker:
            lines.append(f"worker: {self.worker}")
        if self.error:
            lines.append(f"error: {first_line(self.error)}")
        if self.reason:
            lines.append(f"cancelled: {self.reason[:80]}")
        return "<br>".join(lines)


@dataclass
class FunctionStats:
    """One node of the aggregated view: every task of one function."""

    name: str
    layer: int
    x: float
    index: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))
    deps: set[str] = field(default_factory=set)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def finished(self) -> int:
        return self.counts["done"] + self.counts["failed"] + self.counts["cancelled"]

    def state(self) -> str:
        """The colour of the group: what needs attention first."""
        counts = self.counts
        if counts["failed"]:
            return "failed"
        if counts["running"]:
            return "running"
        if counts["done"] == self.total:
            return "done"
        if counts["cancelled"] and counts["cancelled"] + counts["done"] == self.total:
            return "cancelled"
        if counts["ready"]:
            return "ready"
        return "pending" if self.finished < self.total else "done"

    def hover(self) -> str:
        parts = [f"<b>{self.name}</b>: {self.finished}/{self.total} finished"]
        parts += [f"{s}: {n}" for s, n in self.counts.items() if n]
        return "<br>".join(parts)


@dataclass(slots=True)
class Attempt:
    task: int
    name: str
    worker: str
    started: float
    ended: float | None
    state: str


def first_line(text: str) -> str:
    """The line of an error that says what happened (the last non-empty one)."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return (lines[-1] if lines else "")[:160]


def _slot_x(slot: int) -> float:
    """0, 1, -1, 2, -2...: rows grow from the centre, existing slots never move."""
    return float((slot + 1) // 2 * (1 if slot % 2 else -1))


class RunGraphModel:
    """Task graph of one run, built from its events; tracks changes between renders."""

    def __init__(self, first_task: int | None = None, timeline_limit: int = 2000) -> None:
        self.first_task = first_task or 1
        self.last_task: int | None = None  # set when the view's cell has ended
        self.tasks: dict[int, TaskInfo] = {}
        self.order: list[int] = []  # task ids in order of appearance
        self.functions: dict[str, FunctionStats] = {}
        self.counts: dict[str, int] = dict.fromkeys(STATES, 0)
        self.layer_sizes: list[int] = []
        self._taken: list[set[float]] = []  # x positions used, per layer
        self._free_slot: dict[tuple[int, float | None], int] = {}
        self.run_state: str | None = None
        self.run_id: str | None = None
        self.last_seq = 0
        self.attempts: deque[Attempt] = deque(maxlen=timeline_limit)
        self._running_attempts: dict[int, Attempt] = {}
        # Changes since the last render:
        self.new_tasks: list[int] = []
        self.changed_tasks: set[int] = set()
        self.timeline_changed = False
        self.header_changed = False

    @property
    def total(self) -> int:
        return len(self.tasks)

    @property
    def finished(self) -> int:
        return self.counts["done"] + self.counts["failed"] + self.counts["cancelled"]

    def apply(self, event: dict[str, Any]) -> None:
        self.last_seq = max(self.last_seq, event.get("seq", 0))
        kind = event.get("type")
        if kind == "task":
            self._apply_task(event)
        elif kind == "run":
            self.run_state = event["state"]
            self.run_id = event.get("run")
            self.header_changed = True

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
        if "attempt" in event:
            info.attempt = event["attempt"]
        for key in ("worker", "started", "ended", "error", "reason"):
            if key in event:
                setattr(info, key, event[key])
        if state == "running" and info.worker and info.started is not None:
            attempt = Attempt(task_id, info.name, info.worker, info.started, None, "running")
            self._running_attempts[task_id] = attempt
            self.attempts.append(attempt)
            self.timeline_changed = True
        elif state in ("done", "failed") and "started" in event:
            attempt = self._running_attempts.pop(task_id, None)
            if attempt is None:
                attempt = Attempt(task_id, info.name, event.get("worker") or "?",
                                  event["started"], None, state)
                self.attempts.append(attempt)
            attempt.ended = event.get("ended")
            attempt.state = state
            self.timeline_changed = True
        if state == "running":
            info.ended = None  # a new attempt
        self.changed_tasks.add(task_id)
        self.header_changed = True

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

    def take_changes(self) -> tuple[list[int], set[int]]:
        """New and changed task ids since the last call (what a render must redraw)."""
        new, changed = self.new_tasks, self.changed_tasks
        self.new_tasks, self.changed_tasks = [], set()
        self.header_changed = False
        return new, changed

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
