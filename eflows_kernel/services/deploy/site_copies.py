"""Copy steps: an earlier step's run directory brought to the site of the steps reading it.

Why through this server: two sites (two hosts, or two logins of one host) share no
files and usually no network path or login between them; this server has a login on
each. So the directory is streamed through here, SFTP read on one site into SFTP write
on the other (``hpc/transfer/site_stream.py``: bounded chunks, ``.part`` until both
sites' sha256 agree, progress events, cancel mid-file). It lands in the copy step's own
run directory there, ``<workdir>/runs/<copy execution id>/<the directory's name>``,
which a later step reads as ``${steps.<step>.dir}`` (``executions/graph.py``); when its
readers name only declared outputs (``${steps.<step>.outputs.<name>}``), only those are
copied, each to its path below the directory's name there, so a missing one fails the
copy naming it rather than landing as nothing. The
``local`` site (steps run by this server itself) is an end like any other: its files
are this host's, its run directory ``<runs_dir>/<copy execution id>``.
"""

from __future__ import annotations

import contextlib
import logging
import posixpath
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from eflows_kernel.services.deploy.background_steps import BackgroundSteps
from eflows_kernel.services.deploy.pipeline import resolve_workdir, stage
from eflows_kernel.services.errors import ConflictError
from eflows_kernel.services.executions.logs import OUTPUT_LOG
from eflows_kernel.services.executions.store import LOCAL_SITE, Execution, ExecutionStore
from eflows_kernel.services.hpc.local_shell import LocalShell
from eflows_kernel.services.hpc.transfer.site_stream import TransferCancelled, stream_between
from eflows_kernel.services.lifecycle import ExecutionState
from eflows_kernel.services.sites import SiteService

log = logging.getLogger(__name__)


class SiteCopies(BackgroundSteps):
    """The copy steps of this process, one thread each (the graph's ``StepCopier``)."""

    def __init__(self, store: ExecutionStore, sites: Callable[[], SiteService],
                 runs_dir: Path) -> None:
        super().__init__(store, runs_dir)
        self._sites = sites

    def start(self, execution: Execution, source: Execution, source_dir: str,
              target_dir: str | None = None, only: Sequence[str] = ()) -> None:
        """Copy ``source_dir`` of ``source``'s site into ``target_dir`` on the execution's
        site (by default the copy's own run directory there); ``only``: just these paths
        below it (declared outputs)."""
        self._launch(execution, self._run, source, source_dir, target_dir, tuple(only),
                     kind="copy")

    # ---- the copy ----------------------------------------------------------------------

    def _run(self, execution: Execution, source: Execution, source_dir: str,
             into: str | None = None, only: tuple[str, ...] = ()) -> None:
        folder, events = self._events(execution)
        clients: list[Any] = []
        what = f"{source.site}:{source_dir} -> {execution.site}"
        if only:
            what = f"{source.site}:{source_dir} ({', '.join(only)}) -> {execution.site}"
        try:
            self.store.set_state(execution.id, ExecutionState.RUNNING,
                                 f"copying step {source.step!r}'s directory")
            stage(events, "connect", "running", what)
            clients.append(self._connect(source.site, source.credential_id))
            clients.append(self._connect(execution.site, execution.credential_id))
            if into:  # the path a DLS SSH2SSH node names (relative: from the home)
                target_dir = resolve_workdir(clients[1], into)
            elif execution.site == LOCAL_SITE:
                target_dir = str(folder)
            else:
                workdir = self._sites().get_by_name(execution.site).config.workdir
                target_dir = posixpath.join(resolve_workdir(clients[1], workdir), "runs",
                                            execution.id)
            stage(events, "connect", "done", f"run directory {target_dir}")
            self._check(execution)
            stage(events, "stage-in", "running", f"step {source.step!r}'s directory: {what}")
            # A DLS SSH2SSH writes the files of its source path into its target path
            # (ssh2ssh.py: each name with source_path replaced by target_path); the
            # plan's own copies keep the directory's name in the copy's run directory.
            results = stream_between(clients[0], source_dir, clients[1], target_dir, events,
                                     cancel=self._cancel_event(execution),
                                     contents=bool(into), only=only)
            copied = target_dir if into else posixpath.join(
                target_dir, posixpath.basename(source_dir.rstrip("/")))
            total = sum(r.bytes for r in results)
            stage(events, "stage-in", "done", f"{len(results)} file(s), {total} bytes",
                  run_dir=copied, files=len(results), bytes=total)
            (folder / OUTPUT_LOG).write_text(
                f"copied {source_dir} ({source.site}) to {copied} ({execution.site}): "
                f"{len(results)} file(s), {total} bytes, sha256 checked\n")
            self.store.set_state(execution.id, ExecutionState.DONE, "copied")
        except TransferCancelled:
            stage(events, "cancel", "done", "cancelled: no file of the copy got "
                  "a final name unless it was complete")
            with contextlib.suppress(ConflictError):
                self.store.set_state(execution.id, ExecutionState.CANCELLED, "cancelled")
        except Exception as error:
            log.info("eflows: copy %s failed: %s", execution.id, error)
            message = getattr(error, "message", None) or str(error) or type(error).__name__
            stage(events, "stage-in", "failed", message[:300])
            with contextlib.suppress(ConflictError):
                self.store.set_state(execution.id, ExecutionState.FAILED, "copy failed",
                                     error=f"copying {what}: {message}")
        finally:
            for client in clients:
                client.close()
            events.close()
            self._done(execution)

    def _connect(self, site: str, credential_id: str | None) -> Any:
        """A session to ``site`` (this host's own shell for ``local``)."""
        if site == LOCAL_SITE:
            return LocalShell()
        sites = self._sites()
        return sites.connect(sites.get_by_name(site).id, credential_id)


__all__ = ["SiteCopies"]
