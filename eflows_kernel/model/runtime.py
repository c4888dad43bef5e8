"""The runtime the programming model talks to: whatever executes tasks registers here.

The model (``@task``, the PyCOMPSs API) is written against this protocol only, so it
imports nothing of the engine: the engine registers itself when it starts and
unregisters when it stops. Without a registered runtime (a plain ``python app.py``, or
code running inside a task on a worker) the model runs everything in place, as
PyCOMPSs does without its runtime.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol


class Runtime(Protocol):
    """What the model asks of the runtime executing its tasks."""

    run_id: str  # the run's id (stream aliases are unique per run)
    client: Any  # its Dask client (pycompss.streams reach the stream server through it)

    def submit(self, definition: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run one call of a task; returns its future outputs."""

    def wait_on(self, *objs: Any) -> Any: ...
    def barrier(self) -> None: ...
    def barrier_group(self, name: str) -> None: ...
    def cancel_group(self, name: str) -> None: ...
    def open_group(self, name: str) -> None: ...
    def close_group(self, name: str) -> None: ...
    def wait_on_file(self, path: str) -> str: ...
    def delete_file(self, path: str) -> bool: ...
    def file_exists(self, path: str) -> bool: ...
    def forget_object(self, obj: Any) -> bool: ...
    def tracks_object(self, obj: Any) -> bool:
        """Whether a task will produce a new version of ``obj`` (not synchronised yet)."""

    def number_of_resources(self) -> int: ...
    def has_group(self, name: str) -> bool: ...
    def cancel_all(self, reason: str) -> None: ...
    def snapshot(self) -> bool:
        """Checkpoint the tasks called so far; False if the run has no checkpoint."""

    def set_wall_clock(self, seconds: float) -> None:
        """Stop the run ``seconds`` from now."""

    def scale_workers(self, delta: int) -> bool:
        """Add (or remove) workers; False if the cluster is not the runtime's own."""


_current: Runtime | None = None
_lock = threading.Lock()


def current_runtime() -> Runtime | None:
    """The runtime of this process, or None."""
    return _current


def in_task_worker() -> bool:
    """Whether this code runs inside a task, on a Dask worker (PyCOMPSs' "worker")."""
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return False
    return True


def set_current_runtime(runtime: Runtime | None) -> None:
    """Register (or, with None, unregister) the runtime of this process."""
    global _current
    with _lock:
        _current = runtime
