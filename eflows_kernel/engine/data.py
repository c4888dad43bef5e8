"""Which version of each object and file a new task must read or write after.

PyCOMPSs tracks data, not calls: a task reading an object that an earlier task
declared INOUT must see that task's result, and a task reading a file waits for its
last writer. Objects are tracked by identity (the caller's object), files by
absolute path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class TaskOutput:
    """Placeholder for a value a task will produce (PyCOMPSs' future object).

    Pass it to other tasks (they wait for it) or synchronise it with
    ``compss_wait_on``. ``path`` selects the value inside the task's result when the
    task produces several values.
    """

    __slots__ = ("__weakref__", "future", "name", "path", "task_id")

    def __init__(self, task_id: int, name: str, future: Any, path: tuple[int, ...]) -> None:
        self.task_id = task_id
        self.name = name
        self.future = future
        self.path = path

    def __repr__(self) -> str:
        where = f" value {self.path}" if self.path else ""
        return f"<output of task #{self.task_id} {self.name}{where}: use compss_wait_on()>"

    def __reduce__(self) -> Any:
        raise TypeError(
            f"{self!r} cannot be sent inside another object; pass it directly as a task "
            "argument (or in a list declared COLLECTION_IN), or call compss_wait_on() first")


@dataclass(slots=True)
class _TrackedObject:
    obj: Any  # strong reference: keeps id(obj) from being reused while tracked
    version: TaskOutput


class ObjectVersions:
    """Latest task-produced version of objects passed as INOUT/OUT."""

    def __init__(self) -> None:
        self._by_id: dict[int, _TrackedObject] = {}

    def current(self, obj: Any) -> TaskOutput | None:
        tracked = self._by_id.get(id(obj))
        return tracked.version if tracked is not None else None

    def written(self, obj: Any, version: TaskOutput) -> None:
        self._by_id[id(obj)] = _TrackedObject(obj, version)

    def forget(self, obj: Any) -> bool:
        return self._by_id.pop(id(obj), None) is not None

    def __len__(self) -> int:
        return len(self._by_id)


@dataclass(slots=True)
class _FileHistory:
    writer: int | None = None
    readers: list[int] = field(default_factory=list)


class FileVersions:
    """Last writer and readers since, per absolute path.

    A reader waits for the last writer; a writer also waits for the readers of the
    previous version (the file is overwritten in place, there is no renaming).
    """

    def __init__(self) -> None:
        self._files: dict[str, _FileHistory] = {}

    def access(self, path: str, task_id: int, reads: bool, writes: bool) -> list[int]:
        history = self._files.setdefault(path, _FileHistory())
        deps = [] if history.writer is None else [history.writer]
        if writes:
            deps.extend(r for r in history.readers if r != task_id)
            history.writer = task_id
            history.readers = []
        elif reads:
            history.readers.append(task_id)
        return deps

    def users(self, path: str) -> list[int]:
        history = self._files.get(path)
        if history is None:
            return []
        return ([history.writer] if history.writer is not None else []) + history.readers

    def last_writer(self, path: str) -> int | None:
        history = self._files.get(path)
        return history.writer if history else None

    def forget(self, path: str) -> None:
        self._files.pop(path, None)
