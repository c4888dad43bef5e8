"""Steps a graph's driver runs in this process, one thread each: copies and movements.

Why one base: a copy step (``site_copies.py``) and a movement step
(``movement_steps.py``) are both a child execution that this server works on itself
(no job on a site), so they share the same life: started once per record, asked to
stop through an event the work checks, ``cancelled`` at once when nobody works on it,
their own event log in ``<runs_dir>/<id>/``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

from eflows_kernel.events import EVENT_LOG, EventStream
from eflows_kernel.services.errors import ConflictError
from eflows_kernel.services.executions.store import Execution, ExecutionStore
from eflows_kernel.services.hpc.transfer.site_stream import TransferCancelled
from eflows_kernel.services.lifecycle import ExecutionState


class BackgroundSteps:
    """The records this process works on, each with the event that asks it to stop."""

    def __init__(self, store: ExecutionStore, runs_dir: Path) -> None:
        self.store = store
        self.runs_dir = Path(runs_dir)
        self._running: dict[str, threading.Event] = {}  # execution id -> cancel asked
        self._lock = threading.Lock()

    def running(self, execution_id: str) -> bool:
        with self._lock:
            return execution_id in self._running

    def _launch(self, execution: Execution, work: Callable[..., None], *args: object,
                kind: str = "step") -> None:
        """Run ``work(execution, *args)`` in a thread, unless it runs already; it must
        call :meth:`_done` last."""
        with self._lock:
            if execution.id in self._running:
                return
            self._running[execution.id] = threading.Event()
        threading.Thread(target=work, args=(execution, *args), daemon=True,
                         name=f"eflows-{kind}-{execution.id[:8]}").start()

    def _done(self, execution: Execution) -> None:
        with self._lock:
            self._running.pop(execution.id, None)

    def cancel(self, execution: Execution) -> Execution:
        with self._lock:
            asked = self._running.get(execution.id)
        if asked is None:  # nobody works on it: nothing to stop
            with contextlib.suppress(ConflictError):
                return self.store.set_state(execution.id, ExecutionState.CANCELLED,
                                            "cancelled")
            return self.store.get(execution.id)
        asked.set()
        self._stop(execution)
        return self.store.set_state(execution.id, ExecutionState.CANCELLING, "cancel requested")

    def _stop(self, execution: Execution) -> None:
        """What else stops the work at once (beyond the event it checks)."""

    def _events(self, execution: Execution) -> tuple[Path, EventStream]:
        """The step's run folder here and its event log (recorded on first use)."""
        folder = self.runs_dir / execution.id
        folder.mkdir(parents=True, exist_ok=True)
        if execution.event_log is None:
            self.store.set_event_log(execution.id, str(folder / EVENT_LOG))
        return folder, EventStream.resume(execution.id, folder / EVENT_LOG)

    def _cancel_event(self, execution: Execution) -> threading.Event | None:
        with self._lock:
            return self._running.get(execution.id)

    def _cancelled(self, execution: Execution) -> bool:
        asked = self._cancel_event(execution)
        return asked is not None and asked.is_set()

    def _check(self, execution: Execution) -> None:
        if self._cancelled(execution):
            raise TransferCancelled


__all__ = ["BackgroundSteps"]
