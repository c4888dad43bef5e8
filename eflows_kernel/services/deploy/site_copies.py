"""Copy steps: an earlier step's run directory brought to the site of the steps reading it.

Why through this server: two sites (two hosts, or two logins of one host) share no
files and usually no network path or login between them; this server has a login on
each. So the directory is streamed through here, SFTP read on one site into SFTP write
on the other (``hpc/transfer/site_stream.py``: bounded chunks, ``.part`` until both
sites' sha256 agree, progress events, cancel mid-file). It lands in the copy step's own
run directory there, ``<workdir>/runs/<copy execution id>/<the directory's name>``,
which a later step reads as ``${steps.<step>.dir}`` (``executions/graph.py``). The
``local`` site (steps run by this server itself) is an end like any other: its files
are this host's, its run directory ``<runs_dir>/<copy execution id>``.
"""

from __future__ import annotations

import contextlib
import logging
import posixpath
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eflows_kernel.events import EVENT_LOG, EventStream
from eflows_kernel.services.deploy.pipeline import resolve_workdir, stage
from eflows_kernel.services.errors import ConflictError
from eflows_kernel.services.executions.logs import OUTPUT_LOG
from eflows_kernel.services.executions.store import LOCAL_SITE, Execution, ExecutionStore
from eflows_kernel.services.hpc.local_shell import LocalShell
from eflows_kernel.services.hpc.transfer.site_stream import TransferCancelled, stream_between
from eflows_kernel.services.lifecycle import ExecutionState
from eflows_kernel.services.sites import SiteService

log = logging.getLogger(__name__)


class SiteCopies:
    """The copy steps of this process, one thread each (the graph's ``StepCopier``)."""

    def __init__(self, store: ExecutionStore, sites: Callable[[], SiteService],
                 runs_dir: Path) -> None:
        self.store = store
        self._sites = sites
        self.runs_dir = Path(runs_dir)
        self._running: dict[str, threading.Event] = {}  # execution id -> cancel asked
        self._lock = threading.Lock()

    def running(self, execution_id: str) -> bool:
        with self._lock:
            return execution_id in self._running

    def start(self, execution: Execution, source: Execution, source_dir: str,
              target_dir: str | None = None) -> None:
        """Copy ``source_dir`` of ``source``'s site into ``target_dir`` on the execution's
        site (by default the copy's own run directory there)."""
        with self._lock:
            if execution.id in self._running:
                return
            self._running[execution.id] = threading.Event()
        threading.Thread(target=self._run, args=(execution, source, source_dir, target_dir),
                         daemon=True,
                         name=f"eflows-copy-{execution.id[:8]}").start()

    def cancel(self, execution: Execution) -> Execution:
        with self._lock:
            asked = self._running.get(execution.id)
        if asked is None:  # nobody copies: nothing to stop
            with contextlib.suppress(ConflictError):
                return self.store.set_state(execution.id, ExecutionState.CANCELLED,
                                            "cancelled")
            return self.store.get(execution.id)
        asked.set()
        return self.store.set_state(execution.id, ExecutionState.CANCELLING, "cancel requested")

    # ---- the copy ----------------------------------------------------------------------

    def _run(self, execution: Execution, source: Execution, source_dir: str,
             into: str | None = None) -> None:
        folder = self.runs_dir / execution.id
        folder.mkdir(parents=True, exist_ok=True)
        if execution.event_log is None:
            self.store.set_event_log(execution.id, str(folder / EVENT_LOG))
        events = EventStream.resume(execution.id, folder / EVENT_LOG)
        clients: list[Any] = []
        what = f"{source.site}:{source_dir} -> {execution.site}"
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
            results = stream_between(clients[0], source_dir, clients[1], target_dir, events,
                                     cancel=self._cancel_event(execution))
            copied = posixpath.join(target_dir, posixpath.basename(source_dir.rstrip("/")))
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
            with self._lock:
                self._running.pop(execution.id, None)

    def _connect(self, site: str, credential_id: str | None) -> Any:
        """A session to ``site`` (this host's own shell for ``local``)."""
        if site == LOCAL_SITE:
            return LocalShell()
        sites = self._sites()
        return sites.connect(sites.get_by_name(site).id, credential_id)

    def _cancel_event(self, execution: Execution) -> threading.Event | None:
        with self._lock:
            return self._running.get(execution.id)

    def _check(self, execution: Execution) -> None:
        asked = self._cancel_event(execution)
        if asked is not None and asked.is_set():
            raise TransferCancelled


__all__ = ["SiteCopies"]
