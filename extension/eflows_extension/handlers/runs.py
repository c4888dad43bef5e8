"""A run's folder over HTTP (files, preview, authenticated download) and removing a run.

Files are named by their path inside the run folder; ``RunFiles`` refuses any path
that leaves it. Each file gets a download URL on this server (authenticated like every
route: a browser's session cookie does for a link) and, when it lies under the server's
root directory, the JupyterLab URL that opens it. A step graph's steps each have their
own folder, here and on their site: ``?step=<name>`` names the one every route reads, and
``step-files`` lists the site folder of every step (grouped by step and site).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import tornado
from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_escape, url_path_join

from eflows_extension.handlers.base import (
    EflowsAPIHandler,
    execution_json,
    in_thread,
    translated,
)
from eflows_extension.models import ResumeBody
from eflows_kernel.services.executions.run_files import media_type

CHUNK = 256 * 1024


def _with_step(url: str, step: str | None) -> str:
    return f"{url}?step={quote(step, safe='')}" if step is not None else url


class RunFilesBase(EflowsAPIHandler):
    @property
    def step(self) -> str | None:
        """The step of a step graph whose folder is read (``?step=``), None: the run's own."""
        return self.get_query_argument("step", None)

    def lab_url(self, path: Path) -> str | None:
        """JupyterLab's URL of ``path`` if the server's root holds it, else None."""
        root = self.settings.get("server_root_dir")
        if not root:
            return None
        try:
            relative = path.resolve().relative_to(Path(os.path.expanduser(root)).resolve())
        except (ValueError, OSError):
            return None
        return url_path_join(self.base_url, "lab", "tree", url_escape(relative.as_posix()))

    def file_url(self, execution_id: str, relative: str, step: str | None = None) -> str:
        return _with_step(self.api_url("executions", execution_id, "files",
                                       url_escape(relative)), step)

    def site_file_url(self, execution_id: str, relative: str, step: str | None) -> str:
        return _with_step(self.api_url("executions", execution_id, "site-files",
                                       url_escape(relative)), step)

    def links(self, execution_id: str, relative: str,
              step: str | None = None) -> dict[str, Any]:
        full = self.eflows.run_files.folder(execution_id, step) / relative
        links = {"url": self.file_url(execution_id, relative, step)}
        lab = self.lab_url(full)
        if lab:
            links["lab_url"] = lab
        return links


class RunFilesHandler(RunFilesBase):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self, execution_id: str) -> None:
        files, step = self.eflows.run_files, self.step
        items = [{**f.to_dict(), **self.links(execution_id, f.path, step)}
                 for f in files.list(execution_id, step)]
        outputs = {name: {**entry, **self.links(execution_id, entry["in_folder"], step)}
                   if "in_folder" in entry else entry
                   for name, entry in files.outputs(execution_id, step).items()}
        self.reply({"id": execution_id, "items": items, "outputs": outputs,
                    **({"step": step} if step is not None else {})})


class RunFileHandler(RunFilesBase):
    @tornado.web.authenticated
    @authorized
    @translated
    async def get(self, execution_id: str, path: str) -> None:
        full = self.eflows.run_files.resolve(execution_id, path, self.step)  # (unquoted)
        self.set_header("Content-Type", media_type(full.name))
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy", "sandbox")  # an SVG or HTML runs nothing
        disposition = "inline" if self.get_query_argument("inline", "") == "1" else "attachment"
        self.set_header("Content-Disposition",
                        f"{disposition}; filename*=UTF-8''{quote(full.name, safe='')}")
        with open(full, "rb") as handle:
            while chunk := handle.read(CHUNK):
                self.write(chunk)
                await self.flush()
        self.finish()


class RunPreviewHandler(RunFilesBase):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self, execution_id: str) -> None:
        path = self.get_query_argument("path", "")
        step = self.step
        preview = self.eflows.run_files.preview(execution_id, path, step=step)
        self.reply({**preview.to_dict(), **self.links(execution_id, preview.path, step)})


class SiteRunFilesHandler(RunFilesBase):
    """A remote run's folder on its site (SFTP with the run's credential); ``?step=``:
    that step's folder, on its own site with its own credential."""

    @tornado.web.authenticated
    @authorized
    @translated
    async def get(self, execution_id: str) -> None:
        step = self.step
        files = await in_thread(self.eflows.site_run_files.list, execution_id, step)
        self.reply({"id": execution_id, **({"step": step} if step is not None else {}),
                    "items": [{**f.to_dict(), "url": self.site_file_url(execution_id, f.path,
                                                                        step)}
                              for f in files]})


class StepRunFilesHandler(RunFilesBase):
    """The run folder of every step, each on its own site (or here, for a step run on
    this host), grouped by step: a step that cannot be read says why in its entry."""

    @tornado.web.authenticated
    @authorized
    @translated
    async def get(self, execution_id: str) -> None:
        folders = await in_thread(self.eflows.site_run_files.steps, execution_id)
        steps = []
        for folder in folders:
            entry = folder.to_dict()
            url = self.site_file_url if folder.where == "site" else self.file_url
            entry["items"] = [{**f, "url": url(execution_id, f["path"], folder.step)}
                              for f in entry.pop("files")]
            steps.append(entry)
        self.reply({"id": execution_id, "steps": steps})


class SiteRunFileHandler(RunFilesBase):
    @tornado.web.authenticated
    @authorized
    @translated
    async def get(self, execution_id: str, path: str) -> None:
        opened = self.eflows.site_run_files.open(execution_id, path, self.step)
        remote = await in_thread(opened.__enter__)
        try:
            self.set_header("Content-Type", media_type(remote.name))
            self.set_header("X-Content-Type-Options", "nosniff")
            self.set_header("Content-Security-Policy", "sandbox")
            self.set_header("Content-Disposition",
                            f"attachment; filename*=UTF-8''{quote(remote.name, safe='')}")
            while (chunk := await in_thread(next, remote.chunks, None)) is not None:
                self.write(chunk)
                await self.flush()
        finally:
            await in_thread(opened.__exit__, None, None, None)
        self.finish()


class RunRecordHandler(EflowsAPIHandler):
    """``DELETE``: forget a finished run (``DELETE /executions/<id>`` cancels it)."""

    @tornado.web.authenticated
    @authorized
    @translated
    def delete(self, execution_id: str) -> None:
        self.eflows.housekeeping.delete(execution_id)
        self.set_status(204)
        self.finish()


class RunArchiveHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def post(self, execution_id: str) -> None:
        execution = self.eflows.executions.get(execution_id)
        archive = self.eflows.housekeeping.archive(execution_id)
        self.reply({"execution": execution_json(execution), "archive": str(archive)}, 201)


class RunCheckpointHandler(EflowsAPIHandler):
    """``GET``: how many tasks a finished run's checkpoint holds (a re-run can resume
    from it when there is at least one)."""

    @tornado.web.authenticated
    @authorized
    @translated
    async def get(self, execution_id: str) -> None:
        tasks = await in_thread(self.eflows.executions.checkpoint_tasks, execution_id)
        self.reply({"execution_id": execution_id, "tasks": tasks, "resumable": tasks > 0})


class RunResumeHandler(EflowsAPIHandler):
    """``POST``: run a finished execution again from its checkpoint (201, a new one)."""

    @tornado.web.authenticated
    @authorized
    @translated
    async def post(self, execution_id: str) -> None:
        body = self.parse(ResumeBody)
        execution = await in_thread(functools.partial(
            self.eflows.executions.resume, execution_id, password=body.password,
            one_time_code=body.otp))
        self.reply(execution_json(execution), 201, self.api_url("executions", execution.id))


__all__ = ["RunArchiveHandler", "RunCheckpointHandler", "RunFileHandler", "RunFilesHandler",
           "RunPreviewHandler", "RunRecordHandler", "RunResumeHandler", "SiteRunFileHandler",
           "SiteRunFilesHandler", "StepRunFilesHandler"]
