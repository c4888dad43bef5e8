"""Tasks reach Dask in batches: one ``client.map`` call for many tasks.

Submitting one task at a time costs a scheduler message and a client round of
work each; a batch costs one. The main program never waits for a batch: a task is
queued here and sent within a few milliseconds, at once when the queue is full,
when the main program synchronises, or when a new task depends on a queued one
(its Dask future must exist before the new task can name it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eflows_kernel.engine.data import TaskOutput
from eflows_kernel.engine.state import RunGraph, TaskRecord


@dataclass(slots=True)
class PendingTask:
    record: TaskRecord
    wire: Any
    args: list[Any]
    kwargs: dict[str, Any]
    order: list[TaskRecord]  # tasks this one runs after (file order only)
    key: str
    priority: int
    resources: dict[str, float] | None
    workers: list[str] | None = None
    outputs: list[TaskOutput] = field(default_factory=list)


class SubmitBatcher:
    MAX_BATCH = 512
    DELAY = 0.004  # seconds a task may wait for others to join its batch

    def __init__(self, graph: RunGraph, function: Callable[..., Any]) -> None:
        self.graph = graph
        self.function = function
        self.client: Any = None
        self._queue: list[PendingTask] = []
        self._queue_lock = threading.Lock()
        self._flush_lock = threading.RLock()  # one flush at a time, in queue order
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def start(self, client: Any) -> None:
        self.client = client
        self._thread = threading.Thread(target=self._run, name="eflows-submit",
                                        daemon=True)
        self._thread.start()

    def add(self, pending: PendingTask) -> None:
        with self._queue_lock:
            self._queue.append(pending)
            full = len(self._queue) >= self.MAX_BATCH
        if full:
            self.flush()
        else:
            self._wake.set()

    def flush(self) -> None:
        """Send every queued task to Dask (blocks only for the sending)."""
        with self._flush_lock:
            with self._queue_lock:
                queue, self._queue = self._queue, []
            if queue:
                self._send(queue)

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait()
            self._wake.clear()
            if self._closed:
                return
            time.sleep(self.DELAY)
            try:
                self.flush()
            except Exception:  # the client went away while stopping
                if not self._closed:
                    raise

    def _send(self, queue: list[PendingTask]) -> None:
        graph = self.graph
        with graph.lock:
            live = [p for p in queue if not p.record.finished]
            for pending in live:
                pending.order = [r.future for r in pending.order if r.future is not None]
        start = 0
        while start < len(live):
            head = live[start]
            end = start + 1
            while end < len(live) and (live[end].priority, live[end].resources,
                                       live[end].workers) == (head.priority, head.resources,
                                                              head.workers):
                end += 1
            group = live[start:end]
            futures = self.client.map(
                self.function, [p.wire for p in group], [p.args for p in group],
                [p.kwargs for p in group], [p.order or None for p in group],
                key=[p.key for p in group], pure=False, priority=head.priority,
                resources=head.resources, workers=head.workers)
            with graph.lock:
                for pending, future in zip(group, futures, strict=True):
                    for output in pending.outputs:
                        output.future = future
                    if not pending.record.finished:
                        pending.record.future = future
                    elif pending.record.state == "cancelled":
                        graph._to_cancel.append(future)  # cancelled while sending
            start = end
