"""The one writer of a run's events: gap-free sequence numbers, one log, live listeners.

Events come from several threads (the main program submitting tasks, Dask's event loop
delivering worker reports, a deployer's steps and the remote tail copying a run's
events), so numbering, history, the log file and listener calls all happen under one
lock: every consumer sees the same order, and ``seq`` has no gap. Events numbered
elsewhere (by the run on a site, which continues the numbering of the deployer's own
events) are appended with :meth:`EventStream.mirror`, so one log holds them all.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eflows_kernel.events.log import EventLogWriter, read_events
from eflows_kernel.events.schema import SCHEMA_VERSION

Listener = Callable[[dict[str, Any]], None]


class Subscription:
    """Handle returned by :meth:`EventStream.subscribe`; call :meth:`close` to stop."""

    def __init__(self, stream: EventStream, listener: Listener) -> None:
        self._stream = stream
        self.listener = listener

    def close(self) -> None:
        self._stream._unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventStream:
    """Numbers, records, logs and fans out the events of one run.

    ``history`` bounds the events kept in memory for late subscribers; the event log
    file (if any) always has all of them.
    """

    def __init__(
        self,
        run_id: str,
        log_path: str | Path | None = None,
        history: int | None = 1_000_000,
        first_seq: int = 1,
    ) -> None:
        self.run_id = run_id
        self._lock = threading.RLock()
        self._next_seq = first_seq
        self._history: deque[dict[str, Any]] = deque(maxlen=history)
        self._subscriptions: list[Subscription] = []
        self._writer = EventLogWriter(log_path) if log_path is not None else None
        self._listener_errors = 0

    @classmethod
    def resume(cls, run_id: str, log_path: str | Path,
               history: int | None = 0) -> EventStream:
        """A stream appending to an existing log: its numbering goes on after the last event.

        ``history=0``: keep nothing in memory (a deployer's log is read from its file).
        """
        path = Path(log_path)
        existing = read_events(path) if path.is_file() else []
        last = int(existing[-1]["seq"]) if existing else 0
        return cls(run_id, path, history, first_seq=last + 1)

    @property
    def log_path(self) -> Path | None:
        return self._writer.path if self._writer else None

    @property
    def last_seq(self) -> int:
        return self._next_seq - 1

    def emit(self, type_: str, ts: float | None = None, **fields: Any) -> dict[str, Any]:
        """Number and publish one event; ``fields`` whose value is None are left out."""
        event = {"v": SCHEMA_VERSION, "seq": 0, "run": self.run_id}
        event["ts"] = time.time() if ts is None else ts
        event["type"] = type_
        for key, value in fields.items():
            if value is not None:
                event[key] = value
        with self._lock:
            event["seq"] = self._next_seq
            self._next_seq += 1
            self._publish(event)
        return event

    def mirror(self, event: dict[str, Any]) -> bool:
        """Append an event numbered elsewhere; False (and nothing written) if its ``seq``
        is not past the last one here (seen already)."""
        seq = int(event["seq"])
        with self._lock:
            if seq < self._next_seq:
                return False
            self._next_seq = seq + 1
            self._publish(event)
        return True

    def _publish(self, event: dict[str, Any]) -> None:
        self._history.append(event)
        if self._writer is not None:
            self._writer.write(event)
        for sub in tuple(self._subscriptions):  # a listener may subscribe another
            self._deliver(sub, event)

    def _deliver(self, sub: Subscription, event: dict[str, Any]) -> None:
        try:
            sub.listener(event)
        except Exception:  # a broken consumer must never break the run
            self._listener_errors += 1

    def subscribe(self, listener: Listener, from_seq: int | None = 0) -> Subscription:
        """Call ``listener`` for each event after ``from_seq`` (history first), then live.

        ``from_seq=None`` skips the history and delivers only new events.
        """
        sub = Subscription(self, listener)
        with self._lock:
            if from_seq is not None:
                for event in self._history:
                    if event["seq"] > from_seq:
                        self._deliver(sub, event)
            self._subscriptions.append(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subscriptions:
                self._subscriptions.remove(sub)

    def events(self, from_seq: int = 0) -> list[dict[str, Any]]:
        """Events kept in memory with ``seq > from_seq``."""
        with self._lock:
            return [e for e in self._history if e["seq"] > from_seq]

    def flush(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.flush()

    def close(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.close()
