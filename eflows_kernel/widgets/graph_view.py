"""The live task-graph view: a canvas widget (anywidget) fed by compact binary messages.

Any event source feeds it (``feed`` is thread-safe): an engine in this process, a
run's event log being written elsewhere, or a finished log to replay. Events only
update the model (:mod:`graph_model`); a refresher thread sends what changed at most
``1 / refresh_interval`` times a second as one small binary delta
(:mod:`graph_wire`), so the kernel's traffic depends on how often the browser can
redraw, not on how many events arrive. The browser draws the whole DAG on a canvas
(100,000 tasks stay pannable), or one node per function above ``max_nodes`` tasks.
Between two deltas the header (status and counts) goes on its own, as a few hundred
bytes of JSON every ``header_interval``: the counts keep within a fraction of a second
of the engine's while the DAG's delta waits for its turn.

Late front ends (a reloaded page, Voilà) start from ``_snapshot_*``, a snapshot kept
in the widget's state and refreshed now and then (more rarely as it grows); a front
end that missed a delta asks for a snapshot (answered once the kernel is idle). The
front-end code is shipped in the package (``static/``): login nodes are offline.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from eflows_kernel.widgets.graph_model import RUN_ENDED, RunGraphModel, TaskInfo
from eflows_kernel.widgets.graph_wire import WireEncoder, task_details

STATIC = Path(__file__).resolve().parent / "static"
#: Front-end sources, concatenated in this order into one ES module.
SCRIPTS = ("theme.js", "store.js", "frames.js", "dag_paint.js", "dag.js", "timeline.js",
           "panels.js", "widget.js")
#: First keyframe after one second, then ever more rarely (a front end that got one
#: follows with deltas), never more than ~2% of the time spent building them nor
#: KEYFRAME_BYTES_PER_S of traffic.
KEYFRAME_FIRST, KEYFRAME_MAX = 1.0, 30.0
KEYFRAME_BYTES_PER_S = 100_000
#: Seconds between two header-only messages (only when the header changed).
HEADER_INTERVAL = 0.1


def front_end_module() -> str:
    return "\n".join((STATIC / name).read_text(encoding="utf-8") for name in SCRIPTS)


class TaskGraphView(anywidget.AnyWidget):
    """Live view of one run's tasks. Create with ``for_engine``, ``follow`` or ``replay``.

    ``max_nodes``: above it the graph opens grouped by function (the user can still show
    every task); ``height``: the DAG's height at most, in pixels (small graphs take less);
    ``timeline_limit`` is accepted for compatibility and ignored (the timeline keeps every
    attempt and shows a window of them when zoomed).
    """

    _esm = front_end_module()
    _css = (STATIC / "graph.css").read_text(encoding="utf-8")
    _uid = traitlets.Unicode().tag(sync=True)  # finds the front end's store
    _snapshot_meta = traitlets.Dict().tag(sync=True)
    _snapshot_data = traitlets.Bytes(b"").tag(sync=True)
    height = traitlets.Int(420).tag(sync=True)
    max_nodes = traitlets.Int(5000).tag(sync=True)
    selected = traitlets.Int(0).tag(sync=True)  # task id shown in the details panel

    def __init__(self, first_task: int | None = None, max_nodes: int = 5000,
                 refresh_interval: float = 0.25, timeline_limit: int | None = None,
                 height: int = 420, header_interval: float = HEADER_INTERVAL) -> None:
        super().__init__(height=height, max_nodes=max_nodes, _uid=uuid.uuid4().hex)
        self.model = RunGraphModel(first_task)
        self.encoder = WireEncoder(self.model)
        self.refresh_interval = refresh_interval
        self.header_interval = min(header_interval, refresh_interval)
        self._header_shown: tuple[Any, ...] | None = None  # what the last message said
        self._pending: deque[dict[str, Any]] = deque()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscription: Any = None
        self._keyframe_seq = -1
        self._keyframe_interval = KEYFRAME_FIRST
        self._next_keyframe = time.monotonic() + KEYFRAME_FIRST
        self.renders = 0  # deltas sent
        self.headers_sent = 0  # header-only messages
        self.bytes_sent = 0
        self.on_msg(self._on_front_end_message)

    # -- sources ------------------------------------------------------------------------
    @classmethod
    def for_engine(cls, engine: Any, first_task: int | None = None,
                   **options: Any) -> TaskGraphView:
        """Live view of an engine's run in this process (from ``first_task`` on)."""
        view = cls(first_task=first_task, **options)
        view._subscription = engine.events.subscribe(view.feed, from_seq=0)
        view.start()
        return view

    @classmethod
    def replay(cls, path: str | Path, **options: Any) -> TaskGraphView:
        """The picture of a run as its event log file has it (final, if it finished)."""
        from eflows_kernel.events import read_events

        view = cls(**options)
        for event in read_events(path):
            view.model.apply(event)
        view.refresh(keyframe=True)
        return view

    @classmethod
    def follow(cls, path: str | Path, from_seq: int = 0, **options: Any) -> TaskGraphView:
        """Live view of a run writing its event log (here or on a shared file system)."""
        from eflows_kernel.events import EventLogReader

        view = cls(**options)
        reader = EventLogReader(path, from_seq)

        def tail() -> None:
            for event in reader.follow(interval=view.refresh_interval, stop=view._stop):
                view.feed(event)

        threading.Thread(target=tail, daemon=True, name="eflows-graph-follow").start()
        view.start()
        return view

    def feed(self, event: dict[str, Any]) -> None:
        """Accept one event, from any thread; it shows at the next refresh."""
        self._pending.append(event)

    # -- refreshing ---------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._refresh_loop, daemon=True,
                                            name="eflows-graph-refresh")
            self._thread.start()

    def seal(self, last_task: int) -> None:
        """Show no task after ``last_task`` (the kernel seals a cell's view when it ends);
        the view stops following the run once its tasks have finished."""
        with self._lock:
            self.model.last_task = last_task
            self.model.header_changed = True

    def stop(self) -> None:
        """Stop following the source (the view keeps what it shows)."""
        self._stop.set()
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None

    def close(self) -> None:
        self.stop()
        super().close()

    def _refresh_loop(self) -> None:
        next_delta = time.monotonic() + self.refresh_interval
        while not self._stop.wait(self.header_interval):
            model = self.model
            ended = model.run_state in RUN_ENDED or (
                model.last_task is not None and model.finished == model.total
                and not self._pending)
            now = time.monotonic()
            if not ended and now < next_delta:
                self.refresh_header()
                continue
            next_delta = now + self.refresh_interval
            self.refresh(keyframe=ended)
            if ended:
                self.stop()  # nothing more will change here

    def _apply_pending(self) -> None:
        pending = self._pending
        apply = self.model.apply
        while pending:
            apply(pending.popleft())

    def _header_key(self) -> tuple[Any, ...]:
        model = self.model
        return (model.run_state, model.total, *model.counts.values(), model.last_task)

    def refresh_header(self) -> None:
        """Apply the events received so far and send the header alone if it changed:
        a message of its own, so the counts never wait for the next delta."""
        with self._lock:
            self._apply_pending()
            key = self._header_key()
            if key == self._header_shown or self.encoder.seq == 0:
                return  # (nothing new; or no delta yet: the first one brings it)
            self._header_shown = key
            self.send({"type": "header", "seq": self.encoder.seq,
                       "header": self.encoder.header()})
            self.headers_sent += 1

    def refresh(self, keyframe: bool = False) -> None:
        """Apply the events received so far and send what changed to the front ends;
        with ``keyframe`` (or when one is due) also refresh the stored snapshot."""
        with self._lock:
            self._apply_pending()
            message = self.encoder.delta()
            if message is not None:
                meta, data = message
                self._header_shown = self._header_key()
                self.send({"type": "delta", **meta}, [data])
                self.renders += 1
                self.bytes_sent += len(data)
            now = time.monotonic()
            if (keyframe or now >= self._next_keyframe) and \
                    self._keyframe_seq != self.encoder.seq:
                self._keyframe(now)

    def _keyframe(self, now: float) -> None:
        started = time.perf_counter()
        meta, data = self.encoder.snapshot()
        if self.selected in self.model.tasks:  # opened from code: shown on (re)load
            meta["selected"] = task_details(self.model, self.selected)
        with self.hold_sync():
            self._snapshot_meta = meta
            self._snapshot_data = data
        self.bytes_sent += len(data)
        self._keyframe_seq = self.encoder.seq
        cost = time.perf_counter() - started
        self._keyframe_interval = min(KEYFRAME_MAX, max(2 * self._keyframe_interval,
                                                        50 * cost,
                                                        len(data) / KEYFRAME_BYTES_PER_S))
        self._next_keyframe = now + self._keyframe_interval

    # -- front end requests (answered when the kernel is idle) ---------------------------
    def _on_front_end_message(self, _widget: Any, content: dict[str, Any],
                              _buffers: list[Any]) -> None:
        kind = content.get("type")
        if kind == "hello":
            self._send_snapshot()
        elif kind == "details":
            task = self._task_at(content.get("index"))
            if task is not None:
                self._send_details(task.id)

    def _task_at(self, index: Any) -> TaskInfo | None:
        order = self.model.order
        if isinstance(index, int) and 0 <= index < len(order):
            return self.model.tasks[order[index]]
        return None

    def _send_snapshot(self) -> None:
        with self._lock:
            self.refresh()
            meta, data = self.encoder.snapshot()
            self.send({"type": "snapshot", **meta}, [data])
            self.bytes_sent += len(data)

    def _send_details(self, task_id: int) -> None:
        with self._lock:
            details = task_details(self.model, task_id)
        self.send({"type": "details", "details": details})

    # -- from code ----------------------------------------------------------------------
    def show_task(self, task_id: int) -> TaskInfo:
        """Open one task's details under the graph (also what a click does)."""
        with self._lock:
            self.refresh()
            info = self.model.tasks[task_id]
            details = task_details(self.model, task_id)
            self.selected = task_id
            self.send({"type": "details", "details": details})
            self._keyframe(time.monotonic())
        return info

    def task_details(self, task_id: int) -> dict[str, Any]:
        """What the details panel shows of a task: attempts, output, usage, command."""
        with self._lock:
            return task_details(self.model, task_id)

    def failed_tasks(self) -> list[TaskInfo]:
        return self.model.failed_tasks()

    def __repr__(self) -> str:
        # Stable on purpose: notebooks are checked against their saved text outputs.
        return "<eFlows task graph>"


__all__ = ["TaskGraphView", "front_end_module"]
