"""Task-level checkpointing and recovery (``runcompss --checkpoint...``, ``compss_snapshot``).

A run with a checkpoint folder saves every finished task (its result and the files
it wrote, see :mod:`.checkpoint_store`); the policy decides when saved tasks are
*committed*, i.e. listed in ``<folder>/checkpoint.jsonl``. A later run of the same
application in the same folder does not run the committed tasks: each is recognised
by its number in the order the main program calls tasks (and its name), its outputs
come from the checkpoint (objects, INOUT values, files put back), and the tasks that
use them run as usual. The first task whose name differs from the checkpoint's ends
recovery: from there on, the run is new and the old commitments are dropped.

Committed tasks stay committed after a successful run, so a third run skips them
too: remove the folder to start afresh.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import threading
from dataclasses import dataclass
from typing import Any

from eflows_kernel.engine import checkpoint_store as store
from eflows_kernel.engine.checkpoint_policy import (
    FINISHED,
    INSTANTIATED,
    PERIODIC,
    CheckpointConfig,
)

MANIFEST = "checkpoint.jsonl"
_FINAL_STATES = ("done", "cancelled")


@dataclass(frozen=True)
class TaskCheckpoint:
    """What checkpointing does with one task call."""

    record: str | None  # directory the worker saves the task into (None: not saved)
    files: tuple[str, ...]  # files and directories the task writes
    restorable: bool = False  # committed by an earlier run: restore instead of running


def restored_value(result: Any) -> Any:
    """Dask task holding a restored result (submitted, so the main program need not wait)."""
    return result


def written_paths(definition: Any, args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> tuple[str, ...]:
    """Absolute paths of the files/directories a call declares it writes."""
    try:
        bound = definition.signature.bind(*args, **kwargs)
    except TypeError:
        return ()
    bound.apply_defaults()
    paths: list[str] = []

    def add(value: Any) -> None:
        if isinstance(value, str | os.PathLike):
            paths.append(os.path.abspath(os.fspath(value)))
        elif isinstance(value, list | tuple):
            for item in value:
                add(item)

    for name, param in definition.signature.parameters.items():
        value = bound.arguments.get(name)
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            specs = [(definition.varargs_spec, item) for item in value or ()]
        elif param.kind is inspect.Parameter.VAR_KEYWORD:
            specs = [(definition.param_specs.get(k), v) for k, v in (value or {}).items()]
        else:
            specs = [(definition.param_specs.get(name), value)]
        for spec, item in specs:
            if spec is not None and getattr(spec, "writes", False) and \
                    getattr(spec, "is_path", False):
                add(item)
    return tuple(paths)


class CheckpointManager:
    """The checkpoint of one run: recovery at submission, commits as tasks finish."""

    def __init__(self, engine: Any, config: CheckpointConfig) -> None:
        self.engine = engine
        self.config = config
        self.folder = os.path.abspath(config.folder)
        self.restored = 0
        self._lock = threading.Lock()
        self._committed: dict[int, str] = {}
        self._recovering = True
        self._saved: dict[int, str] = {}  # tasks of this run being saved: id -> name
        self._finished: list[int] = []  # saved, done, not committed yet
        self._final: set[int] = set()  # tasks of this run that will not change again
        self._groups: dict[int, list[int]] = {}  # instantiated policy: group -> tasks
        self._snapshot_upto = 0
        self._highest = 0
        self._stop = threading.Event()
        self._subscription: Any = None
        self._timer: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> CheckpointManager:
        os.makedirs(store.tasks_dir(self.folder), exist_ok=True)
        self._committed = self._read_manifest()
        self._subscription = self.engine.events.subscribe(self._on_event, from_seq=None)
        if self.config.policy == PERIODIC and self.config.period:
            self._timer = threading.Thread(target=self._periodic, name="eflows-checkpoint",
                                           daemon=True)
            self._timer.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None

    @property
    def committed(self) -> dict[int, str]:
        with self._lock:
            return dict(self._committed)

    # -- submission -----------------------------------------------------------------------
    def plan(self, definition: Any, task_id: int, args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> TaskCheckpoint:
        files = written_paths(definition, args, kwargs)
        with self._lock:
            self._highest = max(self._highest, task_id)
            known = self._committed.get(task_id) if self._recovering else None
            if known is not None:
                meta = store.read_meta(store.record_dir(self.folder, task_id))
                if known == definition.name and meta is not None \
                        and meta.get("name") == known:
                    return TaskCheckpoint(None, files, restorable=True)
                self._end_recovery(task_id)
            if self.config.avoids(self._names(definition)):
                return TaskCheckpoint(None, files)
            self._saved[task_id] = definition.name
            if self.config.policy == INSTANTIATED and self.config.every:
                group = (task_id - 1) // self.config.every
                self._groups.setdefault(group, []).append(task_id)
        return TaskCheckpoint(store.record_dir(self.folder, task_id), files)

    def restore(self, task_id: int, checkpoint: TaskCheckpoint, wait_for: set[int]) -> Any:
        """The saved result of a committed task, after putting its files back.

        Files are put back once the tasks that used them before have finished.
        """
        if checkpoint.files and wait_for:
            graph = self.engine.graph
            records = [graph.tasks[t] for t in wait_for if t in graph.tasks]
            graph.wait(lambda: all(r.finished for r in records))
        directory = store.record_dir(self.folder, task_id)
        meta = store.read_meta(directory) or {}
        store.restore_files(directory, meta)
        self.restored += 1
        return store.load_result(directory)

    def _names(self, definition: Any) -> tuple[str, ...]:
        """How ``avoid.checkpoint`` may name a task: ``func``, ``module.func``..."""
        name = definition.name
        module = getattr(definition, "__module__", "") or ""
        qualname = getattr(definition, "__qualname__", name) or name
        names = [name, qualname, f"{module}.{name}", f"{module}.{qualname}"]
        if module == "__main__":
            app = self.engine.config.app or os.path.basename(sys.argv[0] or "")
            stem = os.path.splitext(os.path.basename(app))[0]
            names += [f"{stem}.{name}", f"{stem}.{qualname}"]
        return tuple(names)

    # -- commits --------------------------------------------------------------------------
    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") != "task" or event.get("restored"):
            return
        state = event.get("state")
        final = state in _FINAL_STATES or (state == "failed" and event.get("final"))
        if not final:
            return
        task_id = event["task"]
        with self._lock:
            self._final.add(task_id)
            if state == "done" and task_id in self._saved:
                self._finished.append(task_id)
            ready = self._ready_to_commit(task_id)
            if ready:
                self._commit(ready)

    def _ready_to_commit(self, task_id: int) -> list[int]:
        policy, every = self.config.policy, self.config.every
        if task_id <= self._snapshot_upto and task_id in self._finished:
            return [task_id]
        if policy == FINISHED and every and len(self._finished) >= every:
            return list(self._finished)
        if policy == INSTANTIATED and every:
            group = (task_id - 1) // every
            members = self._groups.get(group, [])
            if len(members) == every and all(t in self._final for t in members):
                return [t for t in members if t in self._finished]
        return []

    def _commit(self, task_ids: list[int]) -> None:
        """Make tasks part of the checkpoint (called with the lock held)."""
        new = [t for t in task_ids if t not in self._committed and t in self._saved]
        if new:
            with open(os.path.join(self.folder, MANIFEST), "a", encoding="utf-8") as handle:
                for task_id in new:
                    handle.write(json.dumps({"task": task_id,
                                             "name": self._saved[task_id]}) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            for task_id in new:
                self._committed[task_id] = self._saved[task_id]
        done = set(task_ids)
        self._finished = [t for t in self._finished if t not in done]

    def snapshot(self) -> None:
        """``compss_snapshot()``: commit every task called so far, as each finishes."""
        with self._lock:
            self._snapshot_upto = self._highest
            self._commit(list(self._finished))

    def _periodic(self) -> None:
        period = self.config.period or 0.0
        while not self._stop.wait(period):
            with self._lock:
                self._commit(list(self._finished))

    # -- the manifest -----------------------------------------------------------------------
    def _read_manifest(self) -> dict[int, str]:
        committed: dict[int, str] = {}
        try:
            with open(os.path.join(self.folder, MANIFEST), encoding="utf-8") as handle:
                for line in handle:
                    try:
                        entry = json.loads(line)
                        committed[int(entry["task"])] = str(entry["name"])
                    except (ValueError, KeyError, TypeError):
                        continue  # a line cut short by a crash
        except FileNotFoundError:
            pass
        return committed

    def _end_recovery(self, task_id: int) -> None:
        """The run diverged from the checkpoint at ``task_id``: forget what follows."""
        self._recovering = False
        kept = {t: n for t, n in self._committed.items() if t < task_id}
        path = os.path.join(self.folder, MANIFEST)
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            for kept_id, name in sorted(kept.items()):
                handle.write(json.dumps({"task": kept_id, "name": name}) + "\n")
        os.replace(path + ".tmp", path)
        self._committed = kept
        print(f"eflows-run: the run differs from the checkpoint in {self.folder} at task "
              f"#{task_id}; tasks from there on run again", file=sys.stderr)
