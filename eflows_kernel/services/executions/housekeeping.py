"""Removing finished executions: deleted outright, or archived first.

The jobs list grows with every run; a user clears the runs they no longer need. Only a
finished run can go (an unfinished one is still followed: cancel it first). Archiving
keeps everything a run left (its record with the state history and inputs, log,
events, staged-out outputs) in one ``<archive_dir>/<id>.tar.gz`` before the record and
the folder are removed, so "archive" loses nothing and "delete" is explicit.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

from eflows_kernel.services.errors import ConflictError
from eflows_kernel.services.executions.store import Execution, ExecutionStore
from eflows_kernel.services.state.tables import ExecutionRow

RECORD_NAME = "execution.json"  # the record, inside an archive


class RunHousekeeping:
    """Delete or archive finished executions (record and local folder)."""

    def __init__(self, store: ExecutionStore, runs_dir: Path, archive_dir: Path) -> None:
        self.store = store
        self.runs_dir = Path(runs_dir)
        self.archive_dir = Path(archive_dir)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(archive_dir={str(self.archive_dir)!r})"

    def _finished(self, execution_id: str) -> Execution:
        execution = self.store.get(execution_id)
        if not execution.finished:
            raise ConflictError(
                f"execution {execution.id} is {execution.state.value}: only a finished run "
                "can be removed (cancel it first)", id=execution.id,
                state=execution.state.value)
        return execution

    def delete(self, execution_id: str) -> Execution:
        """Remove the record and the run's local folder; the removed record is returned.

        404 for an unknown id, 409 while the run has not finished.
        """
        execution = self._finished(execution_id)
        self._remove(execution)
        return execution

    def archive(self, execution_id: str) -> Path:
        """Write ``<archive_dir>/<id>.tar.gz`` (record + folder), then delete the run."""
        execution = self._finished(execution_id)
        self.archive_dir.mkdir(parents=True, exist_ok=True)
        target = self.archive_dir / f"{execution.id}.tar.gz"
        partial = target.with_name(target.name + ".part")
        record = json.dumps(execution.model_dump(mode="json"), indent=2).encode()
        with tarfile.open(partial, "w:gz") as tar:
            info = tarfile.TarInfo(f"{execution.id}/{RECORD_NAME}")
            info.size = len(record)
            info.mtime = int(execution.updated_at.timestamp())
            tar.addfile(info, io.BytesIO(record))
            folder = self.runs_dir / execution.id
            if folder.is_dir():
                for path in sorted(folder.rglob("*")):
                    if path.is_file() and not path.is_symlink() and path.name != ".owner":
                        tar.add(path, f"{execution.id}/{path.relative_to(folder).as_posix()}",
                                recursive=False)
        partial.replace(target)  # a crash mid-way leaves the run, not half an archive
        self._remove(execution)
        return target

    def _remove(self, execution: Execution) -> None:
        with self.store.store.session() as session:
            row = session.get(ExecutionRow, execution.id)
            if row is not None:
                session.delete(row)
        shutil.rmtree(self.runs_dir / execution.id, ignore_errors=True)


def read_archived_record(archive: Path) -> Execution:
    """The execution record kept in an archive (to show or restore what ran)."""
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if member.name.endswith("/" + RECORD_NAME):
                handle = tar.extractfile(member)
                if handle is not None:
                    return Execution.model_validate_json(handle.read())
    raise ValueError(f"{archive} holds no {RECORD_NAME}")


__all__ = ["RunHousekeeping", "read_archived_record"]
