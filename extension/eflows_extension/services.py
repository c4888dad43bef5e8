"""The services one server process shares, built once from the extension's configuration.

No HTTP here: handlers reach these through ``self.settings["eflows"]``.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from traitlets.utils.importstring import import_item

from eflows_kernel.services.credentials import CredentialVault, SqlCredentialRepository
from eflows_kernel.services.deploy import RemoteExecutor
from eflows_kernel.services.executions import ExecutionStore
from eflows_kernel.services.executions.router import ExecutorRouter
from eflows_kernel.services.sites import SiteService
from eflows_kernel.services.sites.store import SiteStore
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.workflows.registry import WorkflowRegistry

log = logging.getLogger(__name__)

DEFAULT_EXECUTOR = "eflows_kernel.services.executions.local.LocalExecutor"


class ExecutorUnavailable(RuntimeError):
    """The local executor cannot be loaded in this installation."""


class EflowsServices:
    """StateStore + registry + executions + vault + sites, and a lazily made local executor."""

    def __init__(self, state_url: str | None, vault_key_file: str | Path,
                 runs_dir: str | Path, local_workers: int | None = None,
                 executor_class: str = DEFAULT_EXECUTOR, *, remote_wheel: str | None = None,
                 remote_cache_dir: str | Path | None = None,
                 job_poll_interval: float = 2.0) -> None:
        self.store = StateStore(state_url)
        self.registry = WorkflowRegistry(self.store)
        self.executions = ExecutionStore(self.store)
        self.vault = CredentialVault(SqlCredentialRepository(self.store),
                                     key_file=Path(vault_key_file))
        self.sites = SiteStore(self.store)
        self.site_service = SiteService(self.sites, self.vault)
        self.runs_dir = Path(runs_dir)
        self.local_workers = local_workers
        self.executor_class = executor_class
        self.remote_wheel = remote_wheel
        self.remote_cache_dir = Path(remote_cache_dir) if remote_cache_dir else None
        self.job_poll_interval = job_poll_interval
        self._executor: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r}, runs_dir={str(self.runs_dir)!r})"

    @property
    def executor_started(self) -> bool:
        return self._executor is not None

    @property
    def executor(self) -> Any:
        """One executor for every site (local + remote), created (and the unfinished runs
        recovered) on first use."""
        with self._lock:
            if self._executor is None:
                try:
                    executor_type = import_item(self.executor_class)
                except ImportError as exc:
                    raise ExecutorUnavailable(f"the local executor is not available: {exc}") \
                        from None
                self.runs_dir.mkdir(parents=True, exist_ok=True)
                local = executor_type(self.executions, self.registry, self.runs_dir,
                                      workers=self.local_workers)
                remote = RemoteExecutor(self.executions, self.registry, self.site_service,
                                        self.runs_dir, cache_dir=self.remote_cache_dir,
                                        wheel=self.remote_wheel,
                                        poll_interval=self.job_poll_interval)
                executor = ExecutorRouter(self.executions, local, remote)
                try:
                    executor.recover()
                except Exception:  # a broken old run must not keep the server from starting
                    log.exception("eflows: recovering unfinished local executions failed")
                self._executor = executor
            return self._executor

    def start(self) -> None:
        """Re-attach to executions left unfinished by a previous server (if any)."""
        try:
            if self.executions.running():
                self.executor  # noqa: B018 - creating it runs recover()
        except ExecutorUnavailable as exc:
            log.warning("eflows: %s; unfinished executions are not recovered", exc)

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            try:
                executor.shutdown()
            except Exception:
                log.exception("eflows: shutting the local executor down failed")
        self.store.close()
