"""``EflowsClient.runs``: a run's folder (files, preview, download) and removing runs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from eflows_kernel.client.transport import Transport
from eflows_kernel.client.transport import quote_segment as _q


def _step(step: str | None) -> dict[str, str]:
    return {"step": step} if step is not None else {}


class RestRuns:
    """The run folders of a server's executions; results are the API's JSON bodies."""

    def __init__(self, transport: Transport) -> None:
        self._http = transport

    def files(self, execution_id: str, step: str | None = None) -> dict[str, Any]:
        """``{"items": [{path, bytes, kind, url, lab_url?}], "outputs": {...}}``; ``step``:
        that step's folder (a step graph's)."""
        return dict(self._http.call("GET", f"executions/{_q(execution_id)}/files",
                                    params=_step(step)))

    def preview(self, execution_id: str, path: str, step: str | None = None) -> dict[str, Any]:
        return dict(self._http.call("GET", f"executions/{_q(execution_id)}/preview",
                                    params={"path": path, **_step(step)}))

    def download(self, execution_id: str, path: str, target: str | Path,
                 step: str | None = None) -> Path:
        """The file ``path`` of the run folder, written to ``target`` (a file or folder)."""
        return self._fetch(f"executions/{_q(execution_id)}/files", path, target, step)

    def site_files(self, execution_id: str, step: str | None = None) -> list[dict[str, Any]]:
        return list(self._http.call("GET", f"executions/{_q(execution_id)}/site-files",
                                    params=_step(step))["items"])

    def site_download(self, execution_id: str, path: str, target: str | Path,
                      step: str | None = None) -> Path:
        return self._fetch(f"executions/{_q(execution_id)}/site-files", path, target, step)

    def step_files(self, execution_id: str) -> list[dict[str, Any]]:
        """Every step's run folder on its site: ``[{step, site, status, where, message,
        items}]`` (a run of one step: one entry, ``step`` None)."""
        return list(self._http.call("GET", f"executions/{_q(execution_id)}/step-files")
                    ["steps"])

    def _fetch(self, route: str, path: str, target: str | Path,
               step: str | None = None) -> Path:
        where = Path(target)
        if where.is_dir():
            where = where / Path(path).name
        segments = "/".join(_q(part) for part in path.split("/"))
        with self._http.open("GET", f"{route}/{segments}", params=_step(step) or None) \
                as answer, open(where, "wb") as out:
            shutil.copyfileobj(answer, out)
        return where

    def delete(self, execution_id: str) -> None:
        """Forget a finished run (its record and folder); 409 while it runs."""
        self._http.call("DELETE", f"executions/{_q(execution_id)}/record")

    def archive(self, execution_id: str) -> str:
        """Archive a finished run (on the server), then forget it: the archive's path."""
        return str(self._http.call("POST", f"executions/{_q(execution_id)}/archive")["archive"])


__all__ = ["RestRuns"]
