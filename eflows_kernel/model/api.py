"""The PyCOMPSs API (``pycompss.api.api``): synchronisation, files, groups.

Each function talks to the current engine. Without one (a plain ``python app.py``
run, or code running inside a task on a worker) they behave as PyCOMPSs does
without its runtime: everything is already computed, so they are simple.
"""

from __future__ import annotations

import os
from typing import IO, Any

from eflows_kernel.model.runtime import current_runtime


def compss_wait_on(*objs: Any, to_write: bool = True) -> Any:
    """Values of task outputs (also nested in lists/dicts); updates INOUT objects."""
    engine = current_runtime()
    if engine is None:
        return objs[0] if len(objs) == 1 else list(objs)
    return engine.wait_on(*objs)


def compss_barrier(no_more_tasks: bool = False) -> None:
    """Wait until every task submitted so far has finished."""
    engine = current_runtime()
    if engine is not None:
        engine.barrier()


def compss_barrier_group(group_name: str) -> None:
    """Wait for a group's tasks; raises the COMPSsException one of them raised."""
    engine = current_runtime()
    if engine is not None:
        engine.barrier_group(group_name)


def compss_cancel_group(group_name: str) -> None:
    """Cancel the group's tasks that have not finished."""
    engine = current_runtime()
    if engine is not None:
        engine.cancel_group(group_name)


def _each(function: Any, names: tuple[Any, ...]) -> Any:
    """Apply to each name, also inside lists and tuples (kept as they are)."""
    def apply(name: Any) -> Any:
        if isinstance(name, list | tuple):
            return type(name)(apply(item) for item in name)
        return function(name)

    results = [apply(name) for name in names]
    return results[0] if len(results) == 1 else results


def compss_wait_on_file(*file_names: Any) -> Any:
    """Wait until the tasks writing each file have finished; gives the names back."""
    engine = current_runtime()
    if engine is not None:
        _each(engine.wait_on_file, file_names)
    return file_names[0] if len(file_names) == 1 else file_names


def compss_wait_on_directory(*dir_names: Any) -> Any:
    """Wait until the tasks writing each directory have finished; gives the names."""
    return compss_wait_on_file(*dir_names)


def compss_open(file_name: str, mode: str = "r") -> IO[Any]:
    """Open a file once the tasks writing it have finished."""
    engine = current_runtime()
    if engine is not None:
        engine.wait_on_file(file_name)
    return open(file_name, mode)


def compss_delete_file(*file_names: Any) -> Any:
    """Delete files once the tasks using them have finished; True for each deleted."""
    engine = current_runtime()

    def delete(path: str) -> bool:
        if engine is not None:
            return engine.delete_file(path)
        try:
            os.remove(path)
        except FileNotFoundError:
            return False
        return True

    return _each(delete, file_names)


def compss_file_exists(*file_names: Any) -> Any:
    """Whether each file exists, once the tasks writing it have finished."""
    engine = current_runtime()
    if engine is None:
        return _each(os.path.exists, file_names)
    return _each(engine.file_exists, file_names)


def compss_delete_object(*objs: Any) -> Any:
    """Stop tracking objects so their task-produced versions can be freed."""
    engine = current_runtime()
    results = [True if engine is None else (engine.forget_object(obj) or True)
               for obj in objs]
    return results[0] if len(results) == 1 else results


def compss_start(*args: Any, **kwargs: Any) -> None:
    """Kept for compatibility: the runner or ``eflows_kernel.start()`` starts the engine."""


def compss_stop(code: int = 0, _hard_stop: bool = False) -> None:
    """Wait for all tasks, as PyCOMPSs' compss_stop does; the runner stops the engine.

    A non-zero ``code`` cancels the tasks still to run instead, as PyCOMPSs does.
    """
    engine = current_runtime()
    if engine is None:
        return
    if code:
        engine.cancel_all(f"compss_stop({code})")
        return
    compss_barrier()


def compss_get_number_of_resources() -> int:
    engine = current_runtime()
    return 1 if engine is None else engine.number_of_resources()


class TaskGroup:
    """``with TaskGroup("name"):`` groups tasks; the group's barrier raises its exception."""

    def __init__(self, group_name: str, implicit_barrier: bool = True) -> None:
        self.group_name = group_name
        self.implicit_barrier = implicit_barrier

    def __enter__(self) -> TaskGroup:
        engine = current_runtime()
        if engine is not None:
            engine.open_group(self.group_name)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        engine = current_runtime()
        if engine is None:
            return
        engine.close_group(self.group_name)
        if self.implicit_barrier and engine.has_group(self.group_name):
            # As in PyCOMPSs, also when the block raised (the group's tasks are
            # waited for; a COMPSsException of theirs replaces the block's error).
            engine.barrier_group(self.group_name)
