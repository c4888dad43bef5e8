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


def _each(function: Any, paths: tuple[Any, ...]) -> Any:
    results = [function(p) for p in paths]
    return results[0] if len(results) == 1 else results


def compss_wait_on_file(*file_names: str) -> Any:
    """Wait until the last task writing each file has finished."""
    engine = current_runtime()
    if engine is None:
        return None
    _each(engine.wait_on_file, file_names)
    return None


def compss_wait_on_directory(*dir_names: str) -> Any:
    return compss_wait_on_file(*dir_names)


def compss_open(file_name: str, mode: str = "r") -> IO[Any]:
    """Open a file once the task writing it has finished."""
    engine = current_runtime()
    if engine is not None:
        file_name = engine.wait_on_file(file_name)
    return open(file_name, mode)


def compss_delete_file(*file_names: str) -> Any:
    """Delete files once the tasks using them have finished; True if one was deleted."""
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


def compss_file_exists(*file_names: str) -> Any:
    """Whether each file exists, counting files that running tasks are writing."""
    engine = current_runtime()
    if engine is None:
        return _each(os.path.exists, file_names)
    return _each(engine.file_exists, file_names)


def compss_delete_object(*objs: Any) -> Any:
    """Stop tracking objects so their task-produced versions can be freed."""
    engine = current_runtime()
    if engine is None:
        return _each(lambda _o: True, objs)
    return _each(engine.forget_object, objs)


def compss_start(*args: Any, **kwargs: Any) -> None:
    """Kept for compatibility: the runner or ``eflows_kernel.start()`` starts the engine."""


def compss_stop(*args: Any, **kwargs: Any) -> None:
    """Wait for all tasks, as PyCOMPSs' compss_stop does; the runner stops the engine."""
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
        if exc_type is None and self.implicit_barrier:
            engine.barrier_group(self.group_name)
