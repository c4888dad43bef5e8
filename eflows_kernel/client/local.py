"""``LocalClient``: the client interface backed by the services in this process.

For plain Python and a standalone Voila, where no Jupyter server runs: the same
calls as ``EflowsClient``, on the same state (by default the files a Jupyter
server with the extension uses, so both see the same workflows and runs).
Vault errors are translated to the service error classes, as the REST API does,
so callers catch one set of exceptions whichever client they hold.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from jupyter_core.paths import jupyter_data_dir

from eflows_kernel.services.credentials import (
    CredentialInfo,
    CredentialNotFound,
    CredentialVault,
    MasterKeyError,
    SqlCredentialRepository,
    VaultError,
)
from eflows_kernel.services.errors import NotFoundError, ValidationError
from eflows_kernel.services.executions import Execution, ExecutionStore
from eflows_kernel.services.state import Page, StateStore
from eflows_kernel.services.workflows.registry import RegisteredWorkflow, WorkflowRegistry

F = TypeVar("F", bound=Callable[..., Any])
LOCAL_SITE = "local"


def _vault_errors(method: F) -> F:
    """Vault errors as the REST API reports them: 404 for an unknown id, else 400."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except CredentialNotFound as exc:
            raise NotFoundError(str(exc), id=exc.credential_id) from None
        except MasterKeyError:
            raise  # the installation's problem, not the request's
        except VaultError as exc:
            raise ValidationError(str(exc)) from None

    return wrapper  # type: ignore[return-value]


class LocalWorkflows:
    def __init__(self, registry: WorkflowRegistry) -> None:
        self._registry = registry

    def list(self, name: str | None = None, limit: int = 50, offset: int = 0) -> Page[Any]:
        page = self._registry.list(name=name, limit=limit, offset=offset)
        return Page[Any](items=[w.summary() for w in page.items], total=page.total,
                         limit=page.limit, offset=page.offset)

    def get(self, workflow_id: str) -> RegisteredWorkflow:
        return self._registry.get(workflow_id)

    def register_spec(self, spec: Mapping[str, Any]) -> RegisteredWorkflow:
        return self._registry.register_spec(spec)

    def register_python_file(self, path: str, **options: Any) -> RegisteredWorkflow:
        return self._registry.register_python_file(path, **options)

    def import_folder(self, path: str) -> dict[str, Any]:
        report = self._registry.import_registry_folder(path)
        return {"registered": [w.summary() for w in report.registered],
                "warnings": list(report.warnings)}

    def delete(self, workflow_id: str) -> None:
        self._registry.delete(workflow_id)


class LocalCredentials:
    def __init__(self, vault: CredentialVault) -> None:
        self._vault = vault

    @_vault_errors
    def generate(self, name: str, kind: str = "ed25519", bits: int | None = None,
                 comment: str | None = None) -> CredentialInfo:
        return self._vault.generate(name, kind, bits, comment)

    @_vault_errors
    def import_key(self, name: str, private_key: str, passphrase: str | None = None,
                   certificate: str | None = None, comment: str | None = None
                   ) -> CredentialInfo:
        return self._vault.import_key(name, private_key, passphrase, certificate, comment)

    @_vault_errors
    def list(self) -> list[CredentialInfo]:
        return self._vault.list()

    @_vault_errors
    def get(self, credential_id: str) -> CredentialInfo:
        return self._vault.get(credential_id)

    @_vault_errors
    def delete(self, credential_id: str) -> None:
        self._vault.delete(credential_id)


class LocalExecutions:
    poll_interval = 0.3

    def __init__(self, client: LocalClient) -> None:
        self._client = client
        self._store = client.execution_store

    def trigger(self, workflow_id: str, inputs: Mapping[str, Any] | None = None,
                site: str = LOCAL_SITE, credential_id: str | None = None, *,
                password: str | None = None, one_time_code: str | None = None) -> Execution:
        self._client.registry.get(workflow_id)  # 404 before anything else, as the server
        if credential_id is not None:
            self._client.credentials.get(credential_id)
        answers = {k: v for k, v in (("password", password), ("one_time_code", one_time_code))
                   if v}
        if answers and site == LOCAL_SITE:
            raise ValidationError("the local site needs no password or one-time code",
                                  fields={"site": "the local site needs no password"})
        return self._client.executor.submit(workflow_id, dict(inputs or {}), site,
                                            credential_id=credential_id, **answers)

    def get(self, execution_id: str) -> Execution:
        return self._store.get(execution_id)

    def list(self, state: str | list[str] | None = None, workflow_id: str | None = None,
             site: str | None = None, limit: int = 50, offset: int = 0) -> Page[Execution]:
        return self._store.list(state=state, workflow_id=workflow_id, site=site, limit=limit,
                                offset=offset)

    def cancel(self, execution_id: str) -> Execution:
        from eflows_kernel.services.errors import ConflictError

        execution = self._store.get(execution_id)
        if execution.finished:
            raise ConflictError(f"execution {execution_id} is already {execution.state.value}",
                                id=execution_id, state=execution.state.value)
        self._client.executor.cancel(execution_id)
        return self._store.get(execution_id)

    def logs(self, execution_id: str, offset: int = 0,
             size: int | None = None) -> tuple[str, int]:
        self._store.get(execution_id)
        return self._client.executor.logs(execution_id, offset=offset, size=size)

    def events(self, execution_id: str, from_seq: int = 0) -> list[dict[str, Any]]:
        self._store.get(execution_id)
        return self._client.executor.events(execution_id, from_seq=from_seq)

    def wait(self, execution_id: str, timeout: float) -> Execution:
        return self._store.wait(execution_id, timeout, self.poll_interval)

    def follow(self, execution_id: str, from_seq: int = 0) -> Iterator[dict[str, Any]]:
        """Every event after ``from_seq`` as it happens, until the run has ended (polling)."""
        last = from_seq
        while True:
            finished = self._store.get(execution_id).finished  # read before the events
            events = self.events(execution_id, from_seq=last)
            for event in events:
                if isinstance(event.get("seq"), int):
                    last = event["seq"]
                yield event
            if finished and not events:
                return
            if not events:
                time.sleep(self.poll_interval)


class LocalSites:
    """``SiteService`` in this process, with the ``EflowsClient.sites`` interface.

    A site is given by its id or by its name; vault errors are the service classes.
    """

    def __init__(self, client: LocalClient) -> None:
        self._client = client

    @property
    def _service(self) -> Any:
        return self._client.site_service

    def _site(self, site: str) -> Any:
        if not isinstance(site, str) or not site:
            raise ValidationError(f"a site must be a non-empty id or name, got {site!r}")
        try:
            return self._service.get(site)
        except NotFoundError:
            try:
                return self._service.get_by_name(site)
            except NotFoundError:
                raise NotFoundError(f"no site {site!r} (neither an id nor a name)",
                                    id=site) from None

    def add(self, config: Mapping[str, Any]) -> Any:
        return self._service.add(config if hasattr(config, "model_dump") else dict(config))

    def list(self) -> list[Any]:
        return self._service.list()

    def get(self, site: str) -> Any:
        return self._site(site)

    def update(self, site: str, config: Mapping[str, Any]) -> Any:
        return self._service.update(self._site(site).id,
                                    config if hasattr(config, "model_dump") else dict(config))

    def delete(self, site: str) -> None:
        self._service.delete(self._site(site).id)

    def scan(self, site: str) -> Any:
        return self._service.scan(self._site(site).id)

    def trust(self, site: str, fingerprint: str) -> Any:
        return self._service.trust(self._site(site).id, fingerprint)

    @_vault_errors
    def check(self, site: str, credential_id: str) -> Any:
        site_id = self._site(site).id
        self._client.vault.get(credential_id)  # 404 for an unknown key, as the server
        return self._service.check(site_id, credential_id)

    @_vault_errors
    def authorize(self, site: str, credential_id: str, password: str | None = None,
                  otp: str | None = None) -> dict[str, Any]:
        site_id = self._site(site).id
        self._client.vault.get(credential_id)
        return self._service.authorize(site_id, credential_id, password=password,
                                       otp=_otp_callback(otp))

    @_vault_errors
    def revoke(self, site: str, credential_id: str, password: str | None = None,
               otp: str | None = None) -> dict[str, Any]:
        site_id = self._site(site).id
        self._client.vault.get(credential_id)
        return self._service.revoke(site_id, credential_id, password=password,
                                    otp=_otp_callback(otp))


def _otp_callback(otp: str | None) -> Callable[[str], str] | None:
    return None if not otp else (lambda _prompt: otp)


class LocalClient:
    """The eflows services in this process, with the ``EflowsClient`` interface.

    Defaults are those of the server extension (``$EFLOWS_STATE_URL`` or
    ``<jupyter data dir>/eflows/state.sqlite``, ``vault.key``, ``runs/``), so a
    script and a Jupyter server on the same account share their state.
    """

    url = None

    def __init__(self, state_url: str | None = None, vault_key_file: str | Path | None = None,
                 runs_dir: str | Path | None = None, workers: int | None = None) -> None:
        data = Path(jupyter_data_dir()) / "eflows"
        self.store = StateStore(state_url)
        self.registry = WorkflowRegistry(self.store)
        self.execution_store = ExecutionStore(self.store)
        self.vault_key_file = Path(vault_key_file) if vault_key_file else data / "vault.key"
        self.runs_dir = Path(runs_dir) if runs_dir else data / "runs"
        self.workers = workers
        self._vault: CredentialVault | None = None
        self._executor: Any = None
        self._site_service: Any = None
        self._lock = threading.Lock()
        self.workflows = LocalWorkflows(self.registry)
        self.credentials = LocalCredentials(_LazyVault(self))  # type: ignore[arg-type]
        self.executions = LocalExecutions(self)
        self.sites = LocalSites(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r})"

    @property
    def vault(self) -> CredentialVault:
        """Made on first use: it creates the master key file, which listing runs need not."""
        with self._lock:
            if self._vault is None:
                self._vault = CredentialVault(SqlCredentialRepository(self.store),
                                              key_file=self.vault_key_file)
            return self._vault

    @property
    def site_service(self) -> Any:
        """The ``SiteService`` on this state and vault, made on first use."""
        vault = self.vault
        with self._lock:
            if self._site_service is None:
                from eflows_kernel.services.sites import SiteService
                from eflows_kernel.services.sites.store import SiteStore

                self._site_service = SiteService(SiteStore(self.store), vault)
            return self._site_service

    @property
    def executor(self) -> Any:
        """Local and remote executors behind one router, made (and earlier unfinished runs
        adopted) on first use."""
        site_service = self.site_service
        with self._lock:
            if self._executor is None:
                from eflows_kernel.services.deploy import RemoteExecutor
                from eflows_kernel.services.executions.local import LocalExecutor
                from eflows_kernel.services.executions.router import ExecutorRouter

                self.runs_dir.mkdir(parents=True, exist_ok=True)
                local = LocalExecutor(self.execution_store, self.registry, self.runs_dir,
                                      workers=self.workers)
                remote = RemoteExecutor(self.execution_store, self.registry, site_service,
                                        self.runs_dir)
                executor = ExecutorRouter(self.execution_store, local, remote)
                executor.recover()
                self._executor = executor
            return self._executor

    def status(self) -> dict[str, Any]:
        import eflows_kernel

        return {"version": eflows_kernel.__version__, "default_engine": "local",
                "executor_started": self._executor is not None}

    def close(self, cancel_runs: bool = False) -> None:
        """Release the database; runs keep going unless ``cancel_runs``.

        A later ``LocalClient`` (or a Jupyter server) adopts runs still going, so a
        script may trigger a run and exit.
        """
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None and cancel_runs:
            executor.shutdown()
        elif executor is not None:  # stop following remote runs; they go on on their site
            executor.remote.shutdown()
        self.store.close()

    def __enter__(self) -> LocalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _LazyVault:
    """Forwards to ``client.vault`` so the vault (and its key file) is made on first use."""

    def __init__(self, client: LocalClient) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client.vault, name)
