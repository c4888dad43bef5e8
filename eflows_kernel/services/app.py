"""The composition root: every service the REST API and the in-process client serve, built once.

The Jupyter server extension (from its traitlets) and ``LocalClient`` (from its
arguments) both fill a :class:`ServicesConfig` and wrap one :class:`Services`; nothing
else builds a store, a vault, a site service or an executor. Default paths live here
too, so a script's ``LocalClient`` and a Jupyter server on the same account find the
same state, keys and runs without being told.

What is expensive or has side effects is made on first use: the vault (it creates the
master key file), the site service, and the executors (making them re-attaches to the
runs an earlier process left unfinished).
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_core.paths import jupyter_config_dir, jupyter_data_dir

from eflows_kernel.about import __version__
from eflows_kernel.services.credentials import CredentialVault, SqlCredentialRepository
from eflows_kernel.services.credentials.errors import MasterKeyError
from eflows_kernel.services.credentials.master_key import replace_key_file
from eflows_kernel.services.credentials.service_credentials import ServiceCredentials
from eflows_kernel.services.errors import NotFoundError
from eflows_kernel.services.executions.executor import Executor
from eflows_kernel.services.executions.housekeeping import RunHousekeeping
from eflows_kernel.services.executions.log_entries import LogEntries
from eflows_kernel.services.executions.router import ExecutorRouter
from eflows_kernel.services.executions.run_files import RunFiles
from eflows_kernel.services.executions.service import ExecutionsService
from eflows_kernel.services.executions.store import ExecutionStore
from eflows_kernel.services.hpc.transfer.url_policy import UrlPolicy
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.state.store import default_url, sqlite_file
from eflows_kernel.services.transfers import DataLogistics, TransfersService
from eflows_kernel.services.workflows import WorkflowRegistry
from eflows_kernel.services.workflows.access import AccessPolicy, Caller
from eflows_kernel.services.workflows.catalogue import WorkflowCatalogue, load_catalogue

if TYPE_CHECKING:
    from eflows_kernel.services.deploy.site_copies import SiteCopies
    from eflows_kernel.services.deploy.site_run_files import SiteRunFiles
    from eflows_kernel.services.sites import SiteService

log = logging.getLogger(__name__)


def eflows_data_dir() -> Path:
    """``<Jupyter data dir>/eflows``: where state, vault key and runs live by default."""
    return Path(jupyter_data_dir()) / "eflows"


@dataclass(frozen=True)
class ServicesConfig:
    """What an operator (or a script) may choose; ``None`` means the shared default."""

    state_url: str | None = None  # None: $EFLOWS_STATE_URL, else <data dir>/state.sqlite
    vault_key_file: str | Path | None = None  # None: <data dir>/vault.key
    runs_dir: str | Path | None = None  # None: <data dir>/runs
    archive_dir: str | Path | None = None  # None: <runs dir>/../archive
    local_workers: int | None = None  # Dask workers of a local run; None: the runner's
    # The executor classes, or their import paths (imported when the executors are made,
    # so importing the services does not import the whole remote stack).
    local_executor_class: type[Executor] | str = \
        "eflows_kernel.services.executions.local.LocalExecutor"  # the "local" site's
    remote_executor_class: type[Executor] | str = \
        "eflows_kernel.services.deploy.RemoteExecutor"  # every configured site's
    remote_wheel: str | None = None  # None: built from this installation's source tree
    remote_cache_dir: str | Path | None = None  # None: <runs dir>/../cache
    job_poll_interval: float = 2.0  # seconds between two polls of a site's scheduler
    # The centre's sites (services/sites/operator.py): shown to every user, read-only,
    # with the login made for ``hub_user`` (None: $JUPYTERHUB_USER, else this account).
    operator_sites: tuple[Mapping[str, Any], ...] = ()
    hub_user: str | None = None
    # The centre's published workflows (services/workflows/catalogue.py): registry-layout
    # folders read at start, and who may see each (workflow name or pattern -> grant).
    catalogue_paths: tuple[str | Path, ...] = ()
    catalogue_access: Mapping[str, Mapping[str, Any]] | None = None
    catalogue_url: str | None = None  # a shared database of published workflows (read)
    # Who a request acts as when no hub identity comes with it (None: hub_user, no groups).
    local_groups: tuple[str, ...] = ()
    allow_private_urls: bool = False  # stage-in URLs may name loopback/private hosts
    image_store: str | None = None  # where built container images are (<store>/<wf>/<step>.sif)

    @property
    def vault_key_path(self) -> Path:
        return Path(self.vault_key_file) if self.vault_key_file else \
            eflows_data_dir() / "vault.key"

    @property
    def runs_path(self) -> Path:
        return Path(self.runs_dir) if self.runs_dir else eflows_data_dir() / "runs"

    @property
    def protected_paths(self) -> tuple[Path, ...]:
        """What is never uploaded to a site, whoever names it: the Jupyter data and config
        dirs (the vault key, the state database, the runs), the vault key and the state
        database where they were put instead, and the account's ``~/.ssh``."""
        paths = [Path(jupyter_data_dir()), Path(jupyter_config_dir()), self.vault_key_path,
                 self.runs_path, Path.home() / ".ssh"]
        database = sqlite_file(self.state_url or default_url())
        if database is not None:  # and the journal files beside it
            paths += [database.with_name(database.name + end) for end in ("", "-wal", "-shm",
                                                                         "-journal")]
        return tuple(paths)

    @property
    def executor_classes(self) -> tuple[type[Executor], type[Executor]]:
        """The local and the remote executor's classes (imported now if given by path)."""
        return _class(self.local_executor_class), _class(self.remote_executor_class)

    @property
    def archive_path(self) -> Path:
        return Path(self.archive_dir) if self.archive_dir else \
            self.runs_path.parent / "archive"

    @property
    def cache_path(self) -> Path:
        return Path(self.remote_cache_dir) if self.remote_cache_dir else \
            self.runs_path.parent / "cache"


def _class(value: type[Executor] | str) -> type[Executor]:
    if not isinstance(value, str):
        return value
    module, _, name = value.rpartition(".")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


class Services:
    """The state store, registry, executions, vault, sites and executors of one process.

    ``executions`` is the lifecycle of every run (the one entry point to the executors);
    ``execution_store`` the records it keeps; ``run_files`` the files of each run's
    folder, ``housekeeping`` removes (or archives) finished runs.
    """

    def __init__(self, config: ServicesConfig | None = None) -> None:
        self.config = config or ServicesConfig()
        self.store = StateStore(self.config.state_url)
        self.registry = WorkflowRegistry(self.store)
        self.execution_store = ExecutionStore(self.store)
        self.runs_dir = self.config.runs_path
        self._vault: CredentialVault | None = None
        self._service_credentials: ServiceCredentials | None = None
        self._site_service: SiteService | None = None
        self._site_run_files: SiteRunFiles | None = None
        self._catalogue: WorkflowCatalogue | None = None
        self._site_copies: SiteCopies | None = None
        self._lock = threading.RLock()
        # Periodic transfers: the scheduler runs from start() on (a server), not in a script.
        # Data relayed through this server follows the stage-in URL rules (no private
        # hosts unless allowed) and never touches the protected paths.
        policy = UrlPolicy(allow_private=self.config.allow_private_urls)
        self.transfers = TransfersService(self.store, lambda: self.service_credentials,
                                          lambda: self.site_service, self._execution_over,
                                          policy, self.config.protected_paths)
        self.logistics = DataLogistics(lambda: self.service_credentials, self.runs_dir,
                                       self.config.image_store, self.transfers, policy)
        self.executions = ExecutionsService(self.execution_store, self.registry,
                                            self._make_executors,
                                            credentials=lambda cid: self.vault.get(cid),
                                            runs_dir=self.runs_dir,
                                            copier=lambda: self.site_copies)
        self.log_entries = LogEntries(self.executions.logs, self.executions.get)
        self.run_files = RunFiles(self.execution_store, self.runs_dir)
        self.housekeeping = RunHousekeeping(self.execution_store, self.runs_dir,
                                            self.config.archive_path)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r}, runs_dir={str(self.runs_dir)!r})"

    # ---- made on first use -------------------------------------------------------------

    @property
    def vault(self) -> CredentialVault:
        with self._lock:
            if self._vault is None:
                self._vault = CredentialVault(SqlCredentialRepository(self.store),
                                              key_file=self.config.vault_key_path)
            return self._vault

    def _execution_over(self, execution_id: str) -> bool:
        try:
            return self.execution_store.get(execution_id).finished
        except NotFoundError:
            return True

    @property
    def service_credentials(self) -> ServiceCredentials:
        """Logins to data services (WebDAV, S3, B2SHARE), encrypted by the vault's key."""
        with self._lock:
            if self._service_credentials is None:
                self._service_credentials = ServiceCredentials(self.store, self.vault)
            return self._service_credentials

    @property
    def catalogue(self) -> WorkflowCatalogue:
        """Own workflows and the centre's published ones (read at first use)."""
        with self._lock:
            if self._catalogue is None:
                policy = AccessPolicy(self.config.catalogue_access)
                self._catalogue = WorkflowCatalogue(
                    self.registry, load_catalogue(self.config.catalogue_paths,
                                                  self.config.catalogue_url), policy)
            return self._catalogue

    @property
    def local_caller(self) -> Caller:
        """Who a request acts as without a hub identity: this server's user."""
        return Caller.of(self.hub_user, self.config.local_groups)

    @property
    def site_service(self) -> SiteService:
        with self._lock:
            if self._site_service is None:  # (imported here: sites bring paramiko along)
                from eflows_kernel.services.sites import SiteService, SiteStore
                from eflows_kernel.services.sites.operator import (
                    LayeredSiteRepository,
                    operator_records,
                )

                repository: Any = SiteStore(self.store)
                if self.config.operator_sites:
                    operator = operator_records(self.config.operator_sites, self.hub_user)
                    repository = LayeredSiteRepository(operator, repository)
                self._site_service = SiteService(repository, self.vault)
            return self._site_service

    def rotate_master_key(self) -> tuple[int, str]:
        """Re-encrypt every credential under a new master key: (count, what to tell the
        operator). Only for a key kept in a file; one given in ``$EFLOWS_VAULT_KEY`` is
        the operator's to change (the error says how)."""
        vault = self.vault
        if not vault.key_source.startswith("file"):
            raise MasterKeyError(f"the master key comes from the {vault.key_source}, not a "
                                 "file: rotate it where it is kept (the new key must be set "
                                 "and the records re-encrypted together)")
        count, old = replace_key_file(self.config.vault_key_path, vault.rotate_master_key)
        return count, (f"re-encrypted {count} credential(s); the new master key is in "
                       f"{self.config.vault_key_path}, the old one in {old}: back the new "
                       "one up, then delete the old one")

    @property
    def hub_user(self) -> str:
        """Whose server this is: the hub user, else the account it runs as."""
        import getpass

        return self.config.hub_user or os.environ.get("JUPYTERHUB_USER") or getpass.getuser()

    @property
    def site_run_files(self) -> SiteRunFiles:
        """A remote run's folder on its site (made on first use: it needs the sites)."""
        with self._lock:
            if self._site_run_files is None:
                from eflows_kernel.services.deploy.site_run_files import SiteRunFiles

                self._site_run_files = SiteRunFiles(self.execution_store, self.site_service,
                                                    self.run_files)
            return self._site_run_files

    @property
    def site_copies(self) -> SiteCopies:
        """The copy steps of step graphs: a step's directory to another site, through
        this server (made on first use: it needs the sites)."""
        with self._lock:
            if self._site_copies is None:
                from eflows_kernel.services.deploy.site_copies import SiteCopies

                self._site_copies = SiteCopies(self.execution_store, lambda: self.site_service,
                                               self.runs_dir)
            return self._site_copies

    @property
    def executor_started(self) -> bool:
        return self.executions.started

    def _make_executors(self) -> ExecutorRouter:
        """One executor per kind of site; the executions service makes them on first use."""
        config = self.config
        local_class, remote_class = config.executor_classes
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        local = local_class(self.execution_store, self.runs_dir,  # type: ignore[call-arg]
                            workers=config.local_workers)
        if getattr(local, "movements", False) is None:  # an executor that links them in
            from eflows_kernel.services.deploy.local_movements import LocalMovementSteps

            local.movements = LocalMovementSteps(  # type: ignore[attr-defined]
                self.execution_store, self.runs_dir, self.logistics,
                UrlPolicy(allow_private=config.allow_private_urls), config.protected_paths)
        remote = remote_class(  # type: ignore[call-arg]
            self.execution_store, self.registry, self.site_service, self.runs_dir,
            cache_dir=config.cache_path, wheel=config.remote_wheel,
            poll_interval=config.job_poll_interval, protected=config.protected_paths,
            allow_private_urls=config.allow_private_urls, logistics=self.logistics)
        return ExecutorRouter(local, remote)

    # ---- life --------------------------------------------------------------------------

    def start(self) -> None:
        """A server starting: the vault is ready, and runs left unfinished are re-attached."""
        self.vault  # noqa: B018 - a bad master key shows at start, not at the first request
        if self.config.operator_sites:
            self.site_service  # noqa: B018 - an operator's mistake shows at start too
        self.catalogue  # noqa: B018 - and so does a catalogue that cannot be read
        if self.execution_store.running():
            self.executions.router  # noqa: B018 - making the executors re-attaches
        self.transfers.start()

    def status(self) -> dict[str, Any]:
        return {"version": __version__, "default_engine": "local",
                "executor_started": self.executor_started}

    def close(self, cancel_runs: bool = True) -> None:
        """Release everything. ``cancel_runs=False`` leaves local runs going (a later
        process adopts them); remote runs always go on, followed by whoever comes next."""
        try:
            self.executions.shutdown(cancel=cancel_runs)
        except Exception:
            log.exception("eflows: shutting the executors down failed")
        self.transfers.stop()
        self.store.close()


__all__ = ["Services", "ServicesConfig", "eflows_data_dir"]
