"""The event log: JSON lines, append-only, one event per line, resumable by ``seq``.

A reader may run while the writer appends (locally or over SSH later), so a reader
only ever consumes complete lines and remembers the byte offset it reached.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

EVENT_LOG = "events.jsonl"  # a run's event log, in its run folder (here and on a site)
_FLUSH_INTERVAL = 0.05  # seconds; keeps remote tails fresh without a syscall per event


class EventLogWriter:
    """Appends events to a JSON-lines file, flushing at least every 50 ms."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - long-lived
        self._dumps = json.JSONEncoder(separators=(",", ":"), default=str).encode
        self._last_flush = 0.0
        self._dirty = False
        self._lock = threading.Lock()
        self._closed = False
        self._flusher = threading.Thread(target=self._flush_loop, daemon=True,
                                         name="eflows-eventlog-flush")
        self._flusher.start()

    def write(self, event: dict[str, Any]) -> None:
        line = self._dumps(event) + "\n"
        with self._lock:
            self._file.write(line)
            now = time.monotonic()
            if now - self._last_flush >= _FLUSH_INTERVAL:
                self._file.flush()
                self._last_flush = now
                self._dirty = False
            else:
                self._dirty = True

    def _flush_loop(self) -> None:
        while not self._closed:
            time.sleep(_FLUSH_INTERVAL)
            with self._lock:
                if self._dirty and not self._closed:
                    self._file.flush()
                    self._last_flush = time.monotonic()
                    self._dirty = False

    def flush(self) -> None:
        with self._lock:
            if not self._closed:
                self._file.flush()
                self._dirty = False

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()


class EventLogReader:
    """Incremental reader of an event log that may still be growing.

    ``poll()`` returns the complete events appended since the last call; the reader
    keeps its byte offset, so following a log costs only the new bytes.
    """

    def __init__(self, path: str | Path, from_seq: int = 0) -> None:
        self.path = Path(path)
        self.from_seq = from_seq
        self.offset = 0
        self.last_seq = from_seq

    def poll(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        events = []
        for line in chunk[: end + 1].splitlines():
            if not line.strip():
                continue
            event = json.loads(line)
            if event["seq"] > self.last_seq:
                events.append(event)
                self.last_seq = event["seq"]
        return events

    def follow(self, interval: float = 0.1, stop: threading.Event | None = None,
               until_run_end: bool = True) -> Iterator[dict[str, Any]]:
        """Yield events as they are appended; ends after the run's final event."""
        while stop is None or not stop.is_set():
            for event in self.poll():
                yield event
                if until_run_end and event["type"] == "run" and event["state"] in (
                    "done", "failed", "cancelled"):
                    return
            time.sleep(interval)


def read_events(path: str | Path, from_seq: int = 0) -> list[dict[str, Any]]:
    """All complete events of a log with ``seq > from_seq``."""
    return EventLogReader(path, from_seq).poll()
