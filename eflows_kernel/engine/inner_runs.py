"""The inner runs of a launcher script, merged into the run's own event stream.

Why: a launcher script's ``runcompss`` / ``enqueue_compss`` calls each start an inner
``eflows-run`` (script_app.py), which writes its own event log. The server follows one
log per step (locally, or tailed over SSH on a site), so without this the user watched
an empty graph while the workflow computed. :class:`InnerRuns` follows the inner logs
as they grow and re-emits their events through the run's :class:`EventStream`, the one
writer: they get the run's id and its gap-free ``seq``, and their task ids are renumbered
from the run's own counter (each inner run numbers its tasks from 1), deps included.
An inner run's ``run`` events become ``log`` events: a ``run`` event in the stream says
the run itself started or ended, and a follower stops at the first final one.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eflows_kernel.events.log import EventLogReader
from eflows_kernel.events.stream import EventStream

FINAL_RUN_STATES = frozenset({"done", "failed", "cancelled"})
LOG_PATTERN = "events-*.jsonl"  # what the shims name each inner run's log (script_app.py)
_OWN_FIELDS = ("v", "seq", "run", "ts", "type")  # the outer stream sets these


class _InnerLog:
    """One inner run's log: where it was read to, and its task ids in the run's numbering."""

    def __init__(self, path: Path, number: int) -> None:
        self.reader = EventLogReader(path)
        self.number = number  # 1 for the script's first inner run, in order of discovery
        self.tasks: dict[int, int] = {}  # inner task id -> the run's task id
        self.app: str | None = None
        self.ended = False


class InnerRuns:
    """Follows the inner runs' logs in ``folder`` and merges them into ``stream``.

    ``new_task_id`` gives the run's next task id (the engine's own counter, so ids stay
    unique within the run). :meth:`counts` holds the inner tasks per state, for the run's
    final counts.
    """

    def __init__(self, stream: EventStream, folder: str | Path,
                 new_task_id: Callable[[], int], interval: float = 0.1) -> None:
        self.stream = stream
        self.folder = Path(folder)
        self.new_task_id = new_task_id
        self.interval = interval
        self._logs: dict[Path, _InnerLog] = {}
        self._states: dict[int, str] = {}  # the run's task id -> its last state
        self._lock = threading.Lock()  # one poll at a time: the thread's or the final one
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> InnerRuns:
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name="eflows-inner-runs")
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def close(self, wait: float = 10.0) -> None:
        """Stop following, once every inner run that started has ended (or ``wait`` s
        have passed: an inner run killed without its last event is not waited for
        longer), and merge what its log still holds."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            self.poll()
            with self._lock:
                if all(log.ended for log in self._logs.values()):
                    break
            time.sleep(self.interval)
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.poll()

    def poll(self) -> int:
        """Merge the events written since the last poll; how many were merged."""
        with self._lock:
            for path in sorted(self.folder.glob(LOG_PATTERN)):
                if path not in self._logs:
                    self._logs[path] = _InnerLog(path, len(self._logs) + 1)
            batches = [[(event, log) for event in log.reader.poll()]
                       for log in self._logs.values()]
            merged = 0
            # Each log in its own order, the logs interleaved by time.
            for event, log in heapq.merge(*batches, key=lambda pair: pair[0]["ts"]):
                self._merge(event, log)
                merged += 1
            return merged

    def _merge(self, event: dict[str, Any], log: _InnerLog) -> None:
        kind = event["type"]
        fields = {k: v for k, v in event.items() if k not in _OWN_FIELDS}
        if kind == "run":
            self._run_event(event, log)
            return
        if kind == "task":
            fields["task"] = self._task_id(log, int(event["task"]))
            if event.get("deps"):
                fields["deps"] = [self._task_id(log, int(dep)) for dep in event["deps"]]
            self._states[fields["task"]] = str(event["state"])
        self.stream.emit(kind, ts=event["ts"], **fields)

    def _task_id(self, log: _InnerLog, inner: int) -> int:
        if inner not in log.tasks:
            log.tasks[inner] = self.new_task_id()
        return log.tasks[inner]

    def _run_event(self, event: dict[str, Any], log: _InnerLog) -> None:
        """An inner run started or ended: a line of the run's log (``source`` runcompss)."""
        state = str(event["state"])
        log.app = event.get("app") or log.app
        if state not in FINAL_RUN_STATES and state != "running":
            return  # "starting": "running" or its failure follows
        name = f"runcompss {log.app or '?'} (inner run {log.number})"
        message = f"{name}: {state}"
        counts = event.get("counts")
        if counts:
            message += " (" + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + ")"
        if event.get("error"):
            message += f": {event['error']}"
        level = {"failed": "ERROR", "cancelled": "WARNING"}.get(state, "INFO")
        log.ended = log.ended or state in FINAL_RUN_STATES
        self.stream.emit("log", ts=event["ts"], level=level, message=message,
                         source="runcompss")

    def counts(self) -> dict[str, int]:
        """The inner runs' tasks per state, as they are now."""
        with self._lock:
            counts: dict[str, int] = {}
            for state in self._states.values():
                counts[state] = counts.get(state, 0) + 1
            return counts


def add_counts(*many: dict[str, int]) -> dict[str, int]:
    """Tasks per state of several sets of tasks together."""
    total: dict[str, int] = {}
    for counts in many:
        for state, number in counts.items():
            total[state] = total.get(state, 0) + number
    return total


__all__ = ["InnerRuns", "add_counts"]
