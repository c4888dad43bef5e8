"""The local event log of a remote execution: the deployer's events and the run's, one seq.

The deployer numbers its own events (connect, environment, stage-in, submit), the run
on the site continues the numbering (the runner gets ``--first-seq``) and its events are
copied here as they arrive, then stage-out follows. So the REST stream, the widgets and
a server that restarts all read one gap-free log, and the last ``seq`` in it is where
following the site resumes.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from eflows_kernel.events import SCHEMA_VERSION, EventLogWriter, read_events


class RunLog:
    """Append-only, thread-safe; ``emit`` is what transfers and the deployer call."""

    def __init__(self, path: str | Path, run_id: str) -> None:
        self.path = Path(path)
        self.run_id = run_id
        existing = read_events(self.path) if self.path.is_file() else []
        self._last = int(existing[-1]["seq"]) if existing else 0
        self._writer = EventLogWriter(self.path)
        self._lock = threading.Lock()

    @property
    def last_seq(self) -> int:
        return self._last

    def emit(self, type_: str, ts: float | None = None, **fields: Any) -> dict[str, Any]:
        """A deployer event with the next sequence number (``None`` fields left out)."""
        with self._lock:
            self._last += 1
            event = {"v": SCHEMA_VERSION, "seq": self._last, "run": self.run_id,
                     "ts": time.time() if ts is None else ts, "type": type_,
                     **{k: v for k, v in fields.items() if v is not None}}
            self._writer.write(event)
            return event

    def stage(self, stage: str, state: str, detail: str | None = None,
              **info: Any) -> dict[str, Any]:
        return self.emit("stage", stage=stage, state=state, detail=detail, info=info or None)

    def mirror(self, event: dict[str, Any]) -> bool:
        """Copy an event of the run; False (and nothing written) if it was seen already."""
        with self._lock:
            seq = int(event["seq"])
            if seq <= self._last:
                return False
            self._last = seq
            self._writer.write(event)
            return True

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
