"""``LocalClient.runs``: the run folders of this process's services, as ``RestRuns``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from eflows_kernel.services.app import Services


class LocalRuns:
    """As ``RestRuns``; without a server there are no URLs, so files carry their path."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def files(self, execution_id: str, step: str | None = None) -> dict[str, Any]:
        files = self._services.run_files
        folder = files.folder(execution_id, step)
        items = [{**f.to_dict(), "local_path": str(folder / f.path)}
                 for f in files.list(execution_id, step)]
        return {"id": execution_id, "items": items, "outputs": files.outputs(execution_id, step),
                **({"step": step} if step is not None else {})}

    def preview(self, execution_id: str, path: str, step: str | None = None) -> dict[str, Any]:
        return self._services.run_files.preview(execution_id, path, step=step).to_dict()

    def download(self, execution_id: str, path: str, target: str | Path,
                 step: str | None = None) -> Path:
        source = self._services.run_files.resolve(execution_id, path, step)
        where = Path(target)
        if where.is_dir():
            where = where / source.name
        shutil.copyfile(source, where)
        return where

    def site_files(self, execution_id: str, step: str | None = None) -> list[dict[str, Any]]:
        return [f.to_dict() for f in self._services.site_run_files.list(execution_id, step)]

    def site_download(self, execution_id: str, path: str, target: str | Path,
                      step: str | None = None) -> Path:
        where = Path(target)
        with self._services.site_run_files.open(execution_id, path, step) as remote:
            if where.is_dir():
                where = where / remote.name
            with open(where, "wb") as out:
                for chunk in remote.chunks:
                    out.write(chunk)
        return where

    def step_files(self, execution_id: str) -> list[dict[str, Any]]:
        steps = []
        for folder in self._services.site_run_files.steps(execution_id):
            entry = folder.to_dict()
            local = self._services.run_files.runs_dir / (folder.execution_id or "")
            entry["items"] = [{**f, "local_path": str(local / f["path"])}
                              if folder.where == "local" else f for f in entry.pop("files")]
            steps.append(entry)
        return steps

    def delete(self, execution_id: str) -> None:
        self._services.housekeeping.delete(execution_id)

    def archive(self, execution_id: str) -> str:
        return str(self._services.housekeeping.archive(execution_id))


__all__ = ["LocalRuns"]
