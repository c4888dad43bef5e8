"""One checkpointed task on disk: its result and the files it wrote, as they were.

Written by the worker that ran the task, right after the task body returned and
before the task is reported done, so a file is copied before any later task can
overwrite it. ``<folder>/tasks/<id>/`` holds ``result.pkl`` (the task's raw result,
cloudpickled), ``files/<n>`` (copies of the files and directories it wrote) and
``meta.json`` (task name and the paths of those files); the directory appears whole
(written aside, then renamed) or not at all.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from typing import Any

import cloudpickle

META = "meta.json"
RESULT = "result.pkl"


def tasks_dir(folder: str) -> str:
    return os.path.join(folder, "tasks")


def record_dir(folder: str, task_id: int) -> str:
    return os.path.join(tasks_dir(folder), str(task_id))


def _copy(source: str, target: str) -> None:
    if os.path.isdir(source):
        shutil.copytree(source, target, symlinks=True)
    elif os.path.exists(source):
        shutil.copy2(source, target)


def save_record(directory: str, name: str, result: Any, files: tuple[str, ...]) -> None:
    """Save one finished task (called on the worker, see the module docstring)."""
    parent = os.path.dirname(directory)
    os.makedirs(parent, exist_ok=True)
    scratch = os.path.join(parent, f".{os.path.basename(directory)}.{uuid.uuid4().hex}")
    os.makedirs(scratch)
    try:
        with open(os.path.join(scratch, RESULT), "wb") as handle:
            cloudpickle.dump(result, handle)
        saved = []
        for index, path in enumerate(files):
            existed = os.path.exists(path)
            if existed:
                os.makedirs(os.path.join(scratch, "files"), exist_ok=True)
                _copy(path, os.path.join(scratch, "files", str(index)))
            saved.append({"path": path, "exists": existed})
        with open(os.path.join(scratch, META), "w", encoding="utf-8") as handle:
            json.dump({"name": name, "files": saved}, handle)
        if os.path.isdir(directory):
            shutil.rmtree(directory)
        os.replace(scratch, directory)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def read_meta(directory: str) -> dict[str, Any] | None:
    try:
        with open(os.path.join(directory, META), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def load_result(directory: str) -> Any:
    with open(os.path.join(directory, RESULT), "rb") as handle:
        return cloudpickle.load(handle)


def restore_files(directory: str, meta: dict[str, Any]) -> None:
    """Put back the files the task had written, replacing what is there now."""
    for index, entry in enumerate(meta.get("files", [])):
        path = entry["path"]
        if not entry.get("exists"):
            continue
        saved = os.path.join(directory, "files", str(index))
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.remove(path)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        _copy(saved, path)
