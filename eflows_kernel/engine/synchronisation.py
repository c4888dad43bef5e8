"""Where the main program waits: barriers, ``compss_wait_on`` and the file API.

Waiting is on the run graph's counters (fed by worker reports), so a wait also
ends when the run stops for a fatal failure elsewhere, raising that failure.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from eflows_kernel.engine.data import TaskOutput
from eflows_kernel.engine.wire import select, thaw
from eflows_kernel.model.exceptions import (
    EngineError,
    TaskCancelledError,
    TaskFailedError,
)

if TYPE_CHECKING:
    from eflows_kernel.engine.engine import Engine
    from eflows_kernel.engine.state import TaskRecord


def barrier(engine: Engine) -> None:
    engine.flush()
    graph = engine.graph
    graph.wait(lambda: graph.unfinished == 0, on_poll=lambda: reconcile(engine))


def barrier_group(engine: Engine, name: str) -> None:
    engine.flush()
    graph = engine.graph
    group = graph.groups.get(name)
    if group is None:
        raise EngineError(f"no task group named '{name}' (groups: "
                          f"{', '.join(graph.groups) or 'none'})")
    graph.wait(lambda: group.unfinished == 0, on_poll=lambda: reconcile(engine))
    exc = graph.take_group_exception(name)
    if exc is not None:
        raise exc


def reconcile(engine: Engine) -> None:
    """Fail tasks that Dask lost without our worker code reporting (worker killed...).

    Called under the graph lock while waiting. A task that failed in our code has
    reported before its future turned to error, so a future seen in error on two
    polls in a row with its task unfinished failed outside our code.
    """
    graph = engine.graph
    suspects = engine.lost_suspects
    for record in list(graph.tasks.values()):
        future = record.future
        if record.finished or future is None or future.status not in ("error", "lost"):
            continue
        if record.id not in suspects:
            suspects.add(record.id)
            continue
        graph.report({"task": record.id, "state": "failed", "final": True,
                      "error": f"the task was lost by the cluster ({future.status}); "
                               "a worker probably died"})
    engine.apply_cancellations()


def wait_on(engine: Engine, *objs: Any) -> Any:
    """``compss_wait_on``: values of outputs, also inside nested lists/tuples/dicts."""
    leaves: dict[int, TaskOutput] = {}
    tracked: list[tuple[Any, TaskOutput]] = []  # innermost first
    seen: set[int] = set()

    def collect(obj: Any) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        version = engine.objects.current(obj)
        if isinstance(obj, TaskOutput):
            # A future a later task updated (INOUT) stands for that task's version.
            leaves[id(obj)] = version if version is not None else obj
            return
        if isinstance(obj, list | tuple):
            for item in obj:
                collect(item)
        elif isinstance(obj, dict):
            for item in obj.values():
                collect(item)
        if version is not None:
            tracked.append((obj, version))
            leaves[id(version)] = version

    for obj in objs:
        collect(obj)
    values = _fetch(engine, list(leaves.values()))
    updated: dict[int, Any] = {}
    for obj, version in tracked:
        new = _keep_identities(obj, values[id(version)], updated)
        updated[id(obj)] = update_in_place(obj, new)
        engine.objects.forget(obj)

    def rebuild(obj: Any) -> Any:
        if id(obj) in updated:
            return updated[id(obj)]
        if isinstance(obj, TaskOutput):
            return values[id(leaves[id(obj)])]
        if isinstance(obj, list):
            return [rebuild(item) for item in obj]
        if isinstance(obj, tuple):
            return tuple(rebuild(item) for item in obj)
        if isinstance(obj, dict):
            return {key: rebuild(item) for key, item in obj.items()}
        return obj

    results = [rebuild(obj) for obj in objs]
    return results[0] if len(results) == 1 else results


def _keep_identities(old: Any, new: Any, updated: dict[int, Any]) -> Any:
    """A collection's new value, holding the caller's own element objects where those
    were tracked too (already updated in place), so references to them stay right."""
    if isinstance(old, list | tuple) and isinstance(new, list | tuple):
        items = [updated.get(id(o), n) if id(o) in updated else n
                 for o, n in zip(old, new, strict=False)] + list(new[len(old):])
        return type(new)(items)
    if isinstance(old, dict) and isinstance(new, dict):
        return {k: (updated[id(old[k])] if k in old and id(old[k]) in updated else v)
                for k, v in new.items()}
    return new


def _fetch(engine: Engine, outputs: list[TaskOutput]) -> dict[int, Any]:
    if not outputs:
        return {}
    engine.flush()
    graph = engine.graph
    if graph.fatal is not None:
        raise graph.fatal
    for output in outputs:
        record = graph.tasks[output.task_id]
        if record.finished and not record.ok and record.state == "cancelled":
            raise _cancelled(record)
    futures = list({id(o.future): o.future for o in outputs if o.future is not None}.values())
    try:
        results = engine.client.gather(futures)
    except Exception as exc:
        if graph.fatal is not None:
            raise graph.fatal from None
        if isinstance(exc, TaskFailedError):
            raise
        for output in outputs:
            record = graph.tasks[output.task_id]
            if record.state == "cancelled":
                raise _cancelled(record) from None
        raise
    by_future = {id(f): value for f, value in zip(futures, results, strict=True)}
    return {id(o): thaw(select(by_future[id(o.future)], o.path)) for o in outputs}


def _cancelled(record: TaskRecord) -> TaskCancelledError:
    return TaskCancelledError(
        f"task '{record.name}' (#{record.id}) was cancelled, so its outputs do not exist"
        f"{': ' + record.error if record.error else ''}")


def update_in_place(obj: Any, new: Any) -> Any:
    """Make the caller's INOUT object hold the task's result, when its type allows.

    PyCOMPSs users write ``obj = compss_wait_on(obj)``; updating in place as well
    makes code that forgets the assignment right too, for the common mutable types.
    """
    if obj is new:
        return obj
    try:
        if isinstance(obj, list) and isinstance(new, list):
            obj[:] = new
        elif isinstance(obj, dict | set) and type(new) is type(obj):
            obj.clear()
            obj.update(new)
        elif isinstance(obj, bytearray) and isinstance(new, bytearray):
            obj[:] = new
        elif type(obj) is type(new) and hasattr(new, "shape") and hasattr(obj, "__setitem__"):
            if obj.shape != new.shape:
                return new
            obj[...] = new
        elif type(obj) is type(new) and hasattr(obj, "__dict__"):
            obj.__dict__.clear()
            obj.__dict__.update(new.__dict__)
        else:
            return new
    except Exception:
        return new
    return obj


# -- the file API ----------------------------------------------------------------------
def _wait_tasks(engine: Engine, task_ids: list[int], path: str) -> None:
    engine.flush()
    graph = engine.graph
    records = [graph.tasks[t] for t in task_ids]
    graph.wait(lambda: all(r.finished for r in records), on_poll=lambda: reconcile(engine))


def wait_on_file(engine: Engine, path: str) -> str:
    """Wait for the tasks writing ``path``; a cancelled writer wrote nothing."""
    absolute = os.path.abspath(os.fspath(path))
    writers = engine.files.writers_since(absolute)
    if writers:
        _wait_tasks(engine, writers, absolute)
    return absolute


def delete_file(engine: Engine, path: str) -> bool:
    absolute = os.path.abspath(os.fspath(path))
    _wait_tasks(engine, engine.files.users(absolute), absolute)
    known = engine.files.known(absolute)
    engine.files.forget(absolute)
    try:
        if os.path.isdir(absolute) and not os.path.islink(absolute):
            import shutil

            shutil.rmtree(absolute)
        else:
            os.remove(absolute)
    except FileNotFoundError:
        return known
    return True


def file_exists(engine: Engine, path: str) -> bool:
    return os.path.exists(wait_on_file(engine, path))
