"""Which version of each object and file a new task must read or write after.

PyCOMPSs tracks data, not calls: a task reading an object that an earlier task
declared INOUT must see that task's result, and a task reading a file waits for its
last writer. Objects are tracked by identity (the caller's object), files by
absolute path.

Versions written by tasks that were cancelled (or that failed and produced nothing)
never exist: as in COMPSs, a task submitted afterwards reads the last version that
does, so after a ``COMPSsException`` cancels a group, the tasks that follow work on
the data the surviving tasks left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# task id -> whether the versions it writes will never exist / already do for good.
TaskCheck = Callable[[int], bool]


def _never(_task_id: int) -> bool:
    return False


class TaskOutput:
    """Placeholder for a value a task will produce (PyCOMPSs' future object).

    Pass it to other tasks (they wait for it) or synchronise it with
    ``compss_wait_on``. ``path`` selects the value inside the task's result when the
    task produces several values. ``future`` is set when the task reaches Dask (the
    engine submits tasks in batches).
    """

    __slots__ = ("__weakref__", "future", "name", "path", "task_id")
    __eflows_future__ = True

    def __init__(self, task_id: int, name: str, future: Any, path: tuple[Any, ...]) -> None:
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
    versions: list[TaskOutput]


class ObjectVersions:
    """Task-produced versions of objects passed as INOUT/OUT (latest last)."""

    def __init__(self, dropped: TaskCheck = _never, settled: TaskCheck = _never) -> None:
        self._by_id: dict[int, _TrackedObject] = {}
        self.dropped = dropped
        self.settled = settled

    def current(self, obj: Any) -> TaskOutput | None:
        tracked = self._by_id.get(id(obj))
        if tracked is None:
            return None
        versions = tracked.versions
        while versions and self.dropped(versions[-1].task_id):
            versions.pop()
        if not versions:
            del self._by_id[id(obj)]
            return None
        return versions[-1]

    def written(self, obj: Any, version: TaskOutput) -> None:
        tracked = self._by_id.get(id(obj))
        if tracked is None:
            self._by_id[id(obj)] = _TrackedObject(obj, [version])
            return
        versions = tracked.versions
        # Versions older than one that exists for good can never be needed again.
        for index in range(len(versions) - 1, -1, -1):
            if self.settled(versions[index].task_id):
                del versions[:index]
                break
        versions.append(version)

    def forget(self, obj: Any) -> bool:
        return self._by_id.pop(id(obj), None) is not None

    def __len__(self) -> int:
        return len(self._by_id)


@dataclass(slots=True)
class _FileVersion:
    writer: int | None = None
    readers: list[int] = field(default_factory=list)
    concurrent: list[int] = field(default_factory=list)  # FILE_CONCURRENT accesses


class FileVersions:
    """Writers of each absolute path, and the readers of each version.

    A reader waits for the last writer; a writer also waits for the readers of the
    previous version (the file is overwritten in place, there is no renaming).
    FILE_CONCURRENT accesses of one version run together; whatever comes next
    waits for all of them.
    """

    def __init__(self, dropped: TaskCheck = _never, settled: TaskCheck = _never) -> None:
        self._files: dict[str, list[_FileVersion]] = {}
        self.dropped = dropped
        self.settled = settled

    def _latest(self, path: str) -> _FileVersion:
        history = self._files.setdefault(path, [_FileVersion()])
        while len(history) > 1 and history[-1].writer is not None \
                and self.dropped(history[-1].writer):
            history.pop()
        return history[-1]

    def access(self, path: str, task_id: int, reads: bool, writes: bool,
               concurrent: bool = False, readers: set[int] | None = None) -> list[int]:
        """The tasks this access waits for; ``readers`` gets those of them it only
        waits for because it overwrites what they read."""
        version = self._latest(path)
        deps = [] if version.writer is None else [version.writer]
        if concurrent:
            deps.extend(r for r in version.readers if r != task_id)
            version.concurrent.append(task_id)
            return deps
        deps.extend(c for c in version.concurrent if c != task_id)
        if writes:
            before = [r for r in version.readers if r != task_id and r not in deps]
            deps.extend(before)
            if readers is not None:
                readers.update(before)
            history = self._files[path]
            for index in range(len(history) - 1, 0, -1):
                writer = history[index].writer
                if writer is not None and self.settled(writer):
                    del history[:index]
                    break
            history.append(_FileVersion(writer=task_id))
        elif reads:
            version.readers.append(task_id)
        return deps

    def users(self, path: str) -> list[int]:
        users: list[int] = []
        for version in self._files.get(path, ()):
            if version.writer is not None:
                users.append(version.writer)
            users.extend(version.readers)
            users.extend(version.concurrent)
        return users

    def last_writer(self, path: str) -> int | None:
        if path not in self._files:
            return None
        version = self._latest(path)
        if version.concurrent:
            return version.concurrent[-1]
        return version.writer

    def writers_since(self, path: str) -> list[int]:
        """The tasks a ``compss_wait_on_file`` must wait for."""
        if path not in self._files:
            return []
        version = self._latest(path)
        return ([version.writer] if version.writer is not None else []) + version.concurrent

    def known(self, path: str) -> bool:
        return path in self._files

    def forget(self, path: str) -> None:
        self._files.pop(path, None)
