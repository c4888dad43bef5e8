"""Following one execution through its event log, reading only what was appended.

Both executors write an execution's events to one gap-free log (``events.jsonl`` in its
run folder, a remote run's copied there live). :class:`ExecutionFollower` keeps its byte
offset in that log, so following a long run costs the new bytes only, never a re-read.
"""

from __future__ import annotations

from typing import Any

from eflows_kernel.events import EventLogReader
from eflows_kernel.events.follow import Follower
from eflows_kernel.services.executions.store import Execution, ExecutionStore


class ExecutionFollower(Follower):
    """The events of ``execution_id`` after ``from_seq``, until the execution has ended."""

    def __init__(self, store: ExecutionStore, execution_id: str, from_seq: int = 0) -> None:
        super().__init__(from_seq)
        self.store = store
        self.execution_id = execution_id
        self._reader: EventLogReader | None = None

    def _state(self) -> Execution:
        execution = self.store.get(self.execution_id)
        if self._reader is None and execution.event_log:  # known once the run is set up
            self._reader = EventLogReader(execution.event_log, self.last_seq)
        return execution

    def _read(self) -> list[dict[str, Any]]:
        return self._reader.poll() if self._reader is not None else []


__all__ = ["ExecutionFollower"]
