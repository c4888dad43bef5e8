"""The files of a run's local folder (``<runs_dir>/<id>/``): listed, opened, previewed.

A local run works in that folder; a remote run's log, events and staged-out outputs
are copied there. Users reach these files through a path *relative to the folder*,
and every path is resolved here and refused if it leaves the folder (``..``, an
absolute path, a symbolic link pointing out), so no route built on this can read
another file of the account.
"""

from __future__ import annotations

import csv
import io
import mimetypes
import os
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from eflows_kernel.services.errors import NotFoundError, ValidationError
from eflows_kernel.services.executions.step_records import record_for
from eflows_kernel.services.executions.store import ExecutionStore

PREVIEW_BYTES = 64 * 1024  # text shown inline; the rest is a download away
PREVIEW_ROWS = 50  # CSV rows shown inline
MAX_LISTED = 2000  # files listed per run (a run writing millions is not browsed here)
TEXT_SUFFIXES = {".txt", ".log", ".out", ".err", ".json", ".jsonl", ".yaml", ".yml", ".md",
                 ".py", ".sh", ".cfg", ".ini", ".toml", ".xml", ".dot", ".tsv"}
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".gif": "image/gif", ".svg": "image/svg+xml", ".webp": "image/webp"}


@dataclass(frozen=True)
class RunFile:
    """One file of a run folder: its path in the folder, size and how it can be shown."""

    path: str  # relative, "/"-separated
    bytes: int
    kind: str  # "text", "csv", "image" or "binary"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Preview:
    """What a file looks like inline: text (maybe cut), CSV rows, or an image's type."""

    path: str
    kind: str
    bytes: int
    text: str | None = None
    rows: list[list[str]] | None = None
    media_type: str | None = None
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def file_kind(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in IMAGE_TYPES:
        return "image"
    if suffix in TEXT_SUFFIXES or not suffix:
        return "text"
    guessed, _ = mimetypes.guess_type(name)
    return "text" if guessed and guessed.startswith("text/") else "binary"


def media_type(name: str) -> str:
    """The Content-Type a download of ``name`` is served with."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in IMAGE_TYPES:
        return IMAGE_TYPES[suffix]
    if file_kind(name) in ("text", "csv"):
        return "text/plain; charset=utf-8"
    return "application/octet-stream"


def check_relative(path: str, field: str = "path") -> PurePosixPath:
    """``path`` as a relative path inside a folder, or a ValidationError naming it."""
    if not isinstance(path, str) or not path.strip():
        raise ValidationError(f"{field} must be a file's path inside the run folder",
                              fields={field: "required"})
    if "\x00" in path or "\\" in path:
        raise ValidationError(f"{field} may not contain NUL or backslashes",
                              fields={field: "invalid character"})
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts:
        raise ValidationError(f"{field} {path!r} leaves the run folder: give a path "
                              "relative to it, without '..'", fields={field: "outside the run"})
    return pure


class RunFiles:
    """The local folder of each execution, confined: list, resolve, preview.

    ``step``: the folder of that step of a step graph (each step is an execution of its
    own, with its own folder); without it, the execution's own folder, as always.
    """

    def __init__(self, store: ExecutionStore, runs_dir: Path) -> None:
        self.store = store
        self.runs_dir = Path(runs_dir)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(runs_dir={str(self.runs_dir)!r})"

    def folder(self, execution_id: str, step: str | None = None) -> Path:
        """The execution's (or its step's) folder (404 for an unknown execution or step, 409
        for a step not started; it may not exist yet)."""
        return self.runs_dir / record_for(self.store, execution_id, step).id

    def list(self, execution_id: str, step: str | None = None) -> list[RunFile]:
        """Every regular file of the folder by path (at most ``MAX_LISTED``); hidden files and
        links out of the folder are left out."""
        folder = self.folder(execution_id, step)
        if not folder.is_dir():
            return []
        root = folder.resolve()
        found: list[RunFile] = []
        for current, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith("."):  # the follower's lock file and the like
                    continue
                full = Path(current) / name
                if not _inside(full, root) or not full.is_file():
                    continue
                relative = full.relative_to(folder).as_posix()
                found.append(RunFile(relative, full.stat().st_size, file_kind(name)))
                if len(found) >= MAX_LISTED:
                    break
            if len(found) >= MAX_LISTED:
                break
        return sorted(found, key=lambda f: f.path)

    def resolve(self, execution_id: str, path: str, step: str | None = None) -> Path:
        """The file at ``path`` in the folder: 400 if it would leave it, 404 if absent."""
        relative = check_relative(path)
        folder = self.folder(execution_id, step)
        full = folder / relative
        if not _inside(full, folder.resolve()):
            raise ValidationError(f"path {path!r} leaves the run folder",
                                  fields={"path": "outside the run"})
        if not full.is_file():
            of = f"step {step!r} of execution {execution_id}" if step else \
                f"execution {execution_id}"
            raise NotFoundError(f"{of} has no file {path!r}", id=execution_id, path=path)
        return full

    def relative(self, execution_id: str, path: str | Path,
                 step: str | None = None) -> str | None:
        """``path`` (absolute, e.g. an output's) relative to the folder, None if outside."""
        folder = self.folder(execution_id, step).resolve()
        try:
            return Path(path).resolve().relative_to(folder).as_posix()
        except (ValueError, OSError):
            return None

    def outputs(self, execution_id: str, step: str | None = None) -> dict[str, dict[str, Any]]:
        """The execution's (or step's) named outputs; ``in_folder`` (the path in the run
        folder) for those staged into it, so they can be opened like any file of the run."""
        execution = record_for(self.store, execution_id, step)
        outputs: dict[str, dict[str, Any]] = {}
        for name, value in execution.outputs.items():
            entry = dict(value) if isinstance(value, dict) else {"value": value}
            local = entry.get("path")
            relative = self.relative(execution_id, local, step) if isinstance(local, str) \
                else None
            if relative is not None:
                entry["in_folder"] = relative
            outputs[name] = entry
        return outputs

    def preview(self, execution_id: str, path: str, limit: int = PREVIEW_BYTES,
                step: str | None = None) -> Preview:
        """The beginning of a text or CSV file, or what an image is (it is downloaded)."""
        full = self.resolve(execution_id, path, step)
        size = full.stat().st_size
        kind = file_kind(full.name)
        if kind == "image":
            return Preview(path, kind, size, media_type=media_type(full.name))
        if kind == "binary":
            return Preview(path, kind, size, truncated=size > 0)
        with open(full, "rb") as handle:
            raw = handle.read(limit + 1)
        truncated = len(raw) > limit
        text = raw[:limit].decode("utf-8", errors="replace")
        if kind == "csv":
            rows = list(csv.reader(io.StringIO(text)))
            cut = truncated or len(rows) > PREVIEW_ROWS
            if truncated and rows:
                rows = rows[:-1]  # the last row may be cut mid-way
            return Preview(path, kind, size, rows=rows[:PREVIEW_ROWS], truncated=cut)
        return Preview(path, kind, size, text=text, truncated=truncated)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except (ValueError, OSError):
        return False
    return True


__all__ = ["Preview", "RunFile", "RunFiles", "check_relative", "file_kind", "media_type"]
