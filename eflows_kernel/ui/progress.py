"""Deployment progress: one bar per stage of an execution, driven by its events.

A remote execution tells its stages (``stage`` events), its byte counts (``transfer``
events) and its tasks (``task``/``run`` events); a local one only the last two. The
arithmetic lives in :class:`ProgressModel`, a plain class fed with event dicts so it
is tested without widgets; :class:`DeployProgress` polls the client and draws it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets

from eflows_kernel.client.protocol import Client
from eflows_kernel.ui.common import MessageArea, error_message, esc, human_bytes
from eflows_kernel.ui.errors import error_html

# What the bars show, in order: (key, label). ``run`` is the "running" bar.
STAGES: tuple[tuple[str, str], ...] = (
    ("environment", "Environment"), ("stage-in", "Stage-in"), ("queued", "Queued"),
    ("run", "Running"), ("stage-out", "Stage-out"))
FINISHED_STATES = frozenset({"done", "failed", "cancelled"})
_TASK_FINAL = frozenset({"done", "cancelled"})
_BAR_STYLE = {"done": "success", "failed": "danger", "running": "info", "skipped": "",
              "waiting": ""}


@dataclass
class StageView:
    """What one bar shows: its state word, a fraction in [0, 1] and a short text."""

    state: str  # waiting | running | done | failed | skipped
    fraction: float
    text: str


@dataclass
class ProgressModel:
    """The progress of one execution, from its events and its state.

    Feed every event with :meth:`apply` (any order of types, each once) and the
    execution state with :meth:`set_state`; read each bar with :meth:`stage`.
    """

    execution_state: str = "queued"
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    transfers: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    tasks: dict[int, str] = field(default_factory=dict)
    run_state: str | None = None
    last_seq: int = 0

    def apply(self, event: dict[str, Any]) -> None:
        """Take one event into account (unknown types are ignored)."""
        seq = event.get("seq")
        if isinstance(seq, int):
            self.last_seq = max(self.last_seq, seq)
        kind = event.get("type")
        if kind == "stage":
            self.stages[str(event.get("stage"))] = {
                "state": event.get("state"), "detail": event.get("detail") or "",
                "info": event.get("info") or {}}
        elif kind == "transfer":
            key = (str(event.get("direction") or "in"), str(event.get("name") or ""))
            entry = self.transfers.setdefault(key, {"done": 0, "total": 0})
            entry["done"] = int(event.get("done_bytes") or entry["done"])
            entry["total"] = int(event.get("total_bytes") or entry["total"])
            if event.get("state") == "done" and entry["total"]:
                entry["done"] = entry["total"]
        elif kind == "task" and isinstance(event.get("task"), int):
            state = str(event.get("state"))
            if state == "failed" and not event.get("final", True):
                state = "running"  # a retry follows
            self.tasks[event["task"]] = state
        elif kind == "run":
            self.run_state = str(event.get("state"))
        if kind in ("run", "task") and self.stages.get("queued", {}).get("state") == "running":
            # The run's first event is the end of the wait: the job got its resources.
            self.stages["queued"] = {"state": "done", "detail": "started", "info": {}}

    def set_state(self, state: str) -> None:
        """The execution's state as the store has it (``queued`` ... ``cancelled``)."""
        self.execution_state = str(getattr(state, "value", state))

    @property
    def finished(self) -> bool:
        return self.execution_state in FINISHED_STATES

    @property
    def task_counts(self) -> tuple[int, int]:
        """(finished tasks, tasks known so far); failed-final counts as finished."""
        done = sum(1 for s in self.tasks.values() if s in _TASK_FINAL or s == "failed")
        return done, len(self.tasks)

    def bytes(self, direction: str) -> tuple[int, int]:
        """(bytes moved, bytes to move) over every transfer in ``direction``."""
        entries = [v for (d, _), v in self.transfers.items() if d == direction]
        return sum(e["done"] for e in entries), sum(e["total"] for e in entries)

    def stage(self, key: str) -> StageView:
        """The bar of stage ``key`` (one of :data:`STAGES`)."""
        if key == "run":
            return self._run_stage()
        event = self.stages.get(key)
        state = self._stage_state(event)
        detail = (event or {}).get("detail", "")
        if key in ("stage-in", "stage-out"):
            done, total = self.bytes("in" if key == "stage-in" else "out")
            if total:
                fraction = 1.0 if state == "done" else min(done / total, 1.0)
                text = f"{human_bytes(done)} / {human_bytes(total)}"
                if state == "waiting":
                    state = "running"
                return StageView(state, fraction, text)
        return StageView(state, 1.0 if state in ("done", "failed") else 0.0,
                         detail or self._word(state))

    def _stage_state(self, event: dict[str, Any] | None) -> str:
        if event is None:
            return "skipped" if self.finished else "waiting"
        state = str(event.get("state"))
        if state == "running" and self.finished:
            return "failed" if self.execution_state != "done" else "done"
        return state

    def _run_stage(self) -> StageView:
        done, total = self.task_counts
        event = self.stages.get("run")
        if event is not None:
            state = self._stage_state(event)
        elif self.run_state is not None or self.tasks:
            state = {"done": "done", "failed": "failed", "cancelled": "failed"}.get(
                self.run_state or "", "running")
            if state == "running" and self.finished:
                state = "done" if self.execution_state == "done" else "failed"
        else:
            state = self._stage_state(None)
        if total:
            return StageView(state, done / total, f"{done}/{total} tasks")
        fraction = 1.0 if state in ("done", "failed") else 0.0
        return StageView(state, fraction, self._word(state))

    @staticmethod
    def _word(state: str) -> str:
        return "—" if state in ("waiting", "skipped") else state


class DeployProgress(widgets.VBox):
    """Live progress of one execution: a bar per stage plus the execution's state.

    A daemon thread polls the client (events since the last seen, then the state)
    every ``poll_interval`` seconds until the execution has finished; ``stop()`` or
    ``close()`` ends it. ``update()`` does one poll, for tests and manual refresh.
    """

    def __init__(self, client: Client, execution_id: str, poll_interval: float = 0.5,
                 start: bool = True) -> None:
        self.client = client
        self.execution_id = execution_id
        self.poll_interval = poll_interval
        self.model = ProgressModel()
        self.execution: Any = None
        self._events: Any = None  # the client's follower of this execution's events
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.state_label = widgets.HTML()
        self.bars: dict[str, widgets.FloatProgress] = {}
        self.labels: dict[str, widgets.Label] = {}
        rows = []
        for key, title in STAGES:
            self.bars[key] = widgets.FloatProgress(value=0.0, min=0.0, max=1.0,
                                                   layout=widgets.Layout(width="240px"))
            self.labels[key] = widgets.Label("—")
            rows.append(widgets.HBox([widgets.Label(title, layout=widgets.Layout(
                width="100px")), self.bars[key], self.labels[key]]))
        self.message = MessageArea()
        super().__init__([self.state_label, *rows, self.message])
        self._render()
        if start:
            self.start()

    def start(self) -> None:
        """Follow the execution in a background thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, daemon=True,
                                            name=f"eflows-progress-{self.execution_id}")
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self.stop()
        super().close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self.update():
                return
            self._stop.wait(self.poll_interval)

    def update(self) -> bool:
        """Read new events and the state once, redraw; True when nothing more will come."""
        with self._lock:
            try:
                if self._events is None:
                    self._events = self.client.executions.follower(self.execution_id)
                events = self._events.poll()
                execution = self._events.latest
            except Exception as exc:  # shown, and tried again at the next poll
                self.message.error(error_message(exc))
                return False
            for event in events:
                self.model.apply(event)
            self.execution = execution
            self.model.set_state(execution.state)
            self._render()
            return self.model.finished and not events

    def wait(self, timeout: float) -> bool:
        """Block until the execution has finished (True) or ``timeout`` (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._thread is None:
                if self.update():
                    return True
            elif not self._thread.is_alive():
                return self.model.finished
            time.sleep(min(self.poll_interval, 0.2))
        return self.model.finished

    def _render(self) -> None:
        state = self.model.execution_state
        colour = {"done": "#1b5e20", "failed": "#b00020", "cancelled": "#8d6e63"}.get(
            state, "#0d47a1")
        error = getattr(self.execution, "error", None)
        self.state_label.value = (
            f"<b>Execution {esc(self.execution_id)}</b>: "
            f"<span style='color:{colour}'>{esc(state)}</span>"
            + error_html(error))
        for key, _title in STAGES:
            view = self.model.stage(key)
            self.bars[key].value = view.fraction
            self.bars[key].bar_style = _BAR_STYLE.get(view.state, "")
            self.labels[key].value = view.text
