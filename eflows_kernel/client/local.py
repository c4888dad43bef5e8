"""``LocalClient``: the client interface backed by the services in this process.

For plain Python and a standalone Voila, where no Jupyter server runs: the same
calls as ``EflowsClient``, on the same state (by default the files a Jupyter
server with the extension uses, so both see the same workflows and runs).
Errors are the services' own classes (vault errors included), as the REST client
raises them, so callers catch one set of exceptions whichever client they hold.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from eflows_kernel.client.data import LocalData
from eflows_kernel.client.local_runs import LocalRuns
from eflows_kernel.events import Follower
from eflows_kernel.services.app import Services, ServicesConfig
from eflows_kernel.services.credentials import CredentialInfo, CredentialVault
from eflows_kernel.services.errors import NotFoundError, ValidationError
from eflows_kernel.services.executions import LOCAL_SITE, Execution
from eflows_kernel.services.state import Page
from eflows_kernel.services.workflows.registry import RegisteredWorkflow
from eflows_kernel.services.workflows.spec_schema import workflow_spec_schema


class LocalWorkflows:
    """Own workflows and the published ones this process's identity is granted."""

    def __init__(self, services: Services) -> None:
        self._catalogue = services.catalogue
        self._caller = services.local_caller

    def list(self, name: str | None = None, limit: int = 50, offset: int = 0) -> Page[Any]:
        return self._catalogue.list(self._caller, name=name, limit=limit, offset=offset)

    def get(self, workflow_id: str) -> RegisteredWorkflow:
        return self._catalogue.get(workflow_id, self._caller)

    def register_spec(self, spec: Mapping[str, Any]) -> RegisteredWorkflow:
        return self._catalogue.register_spec(spec, self._caller)

    def register_python_file(self, path: str, **options: Any) -> RegisteredWorkflow:
        return self._catalogue.registry.register_python_file(path, **options)

    def import_folder(self, path: str) -> dict[str, Any]:
        report = self._catalogue.import_registry_folder(path, self._caller)
        return {"registered": [w.summary() for w in report.registered],
                "warnings": list(report.warnings), "refused": list(report.refused)}

    def delete(self, workflow_id: str) -> None:
        self._catalogue.delete(workflow_id, self._caller)

    def spec_schema(self) -> dict[str, Any]:
        return workflow_spec_schema()


class LocalCredentials:
    def __init__(self, vault: CredentialVault) -> None:
        self._vault = vault

    def generate(self, name: str, kind: str = "ed25519", bits: int | None = None,
                 comment: str | None = None) -> CredentialInfo:
        return self._vault.generate(name, kind, bits, comment)

    def import_key(self, name: str, private_key: str, passphrase: str | None = None,
                   certificate: str | None = None, comment: str | None = None
                   ) -> CredentialInfo:
        return self._vault.import_key(name, private_key, passphrase, certificate, comment)

    def list(self) -> list[CredentialInfo]:
        return self._vault.list()

    def get(self, credential_id: str) -> CredentialInfo:
        return self._vault.get(credential_id)

    def delete(self, credential_id: str) -> None:
        self._vault.delete(credential_id)


class LocalExecutions:
    """``ExecutionsService`` in this process, with the ``EflowsClient.executions`` interface."""

    poll_interval = 0.3

    def __init__(self, client: LocalClient) -> None:
        self._client = client
        self._service = client.services.executions

    def trigger(self, workflow_id: str, inputs: Mapping[str, Any] | None = None,
                site: str | Mapping[str, str] = LOCAL_SITE,
                credential_id: str | None = None, *,
                password: str | None = None, one_time_code: str | None = None) -> Execution:
        services = self._client.services
        workflow_id = services.catalogue.runnable(workflow_id, services.local_caller)
        return self._service.submit(workflow_id, inputs, site, credential_id,
                                    password=password, one_time_code=one_time_code)

    def get(self, execution_id: str) -> Execution:
        return self._service.get(execution_id)

    def list(self, state: str | list[str] | None = None, workflow_id: str | None = None,
             site: str | None = None, limit: int = 50, offset: int = 0) -> Page[Execution]:
        return self._service.list(state=state, workflow_id=workflow_id, site=site,
                                  limit=limit, offset=offset)

    def cancel(self, execution_id: str) -> Execution:
        return self._service.cancel(execution_id)

    def checkpoint_tasks(self, execution_id: str) -> int:
        return self._service.checkpoint_tasks(execution_id)

    def resume(self, execution_id: str, *, password: str | None = None,
               one_time_code: str | None = None) -> Execution:
        return self._service.resume(execution_id, password=password,
                                    one_time_code=one_time_code)

    def logs(self, execution_id: str, offset: int = 0,
             size: int | None = None, step: str | None = None) -> tuple[str, int]:
        return self._service.logs(execution_id, offset=offset, size=size, step=step)

    def events(self, execution_id: str, from_seq: int = 0) -> list[dict[str, Any]]:
        return self._service.events(execution_id, from_seq=from_seq)

    def steps(self, execution_id: str) -> list[dict[str, Any]]:
        """Each step as ``GET /executions/<id>/steps`` answers it."""
        return [{**dataclasses.asdict(s), "depends_on": list(s.depends_on)}
                for s in self._service.steps(execution_id)]

    def wait(self, execution_id: str, timeout: float) -> Execution:
        return self._service.wait(execution_id, timeout, self.poll_interval)

    def follow(self, execution_id: str, from_seq: int = 0) -> Iterator[dict[str, Any]]:
        """Every event after ``from_seq`` as it happens, until the run has ended."""
        return self._service.follow(execution_id, from_seq, interval=self.poll_interval)

    def follower(self, execution_id: str, from_seq: int = 0) -> Follower:
        """A follower to poll (``poll()``, ``done``, ``latest``): it reads only what the
        run's event log gained since the last poll."""
        return self._service.follower(execution_id, from_seq)


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

    def check(self, site: str, credential_id: str) -> Any:
        site_id = self._site(site).id
        self._client.vault.get(credential_id)  # 404 for an unknown key, as the server
        return self._service.check(site_id, credential_id)

    def authorize(self, site: str, credential_id: str, password: str | None = None,
                  otp: str | None = None) -> dict[str, Any]:
        site_id = self._site(site).id
        self._client.vault.get(credential_id)
        return self._service.authorize(site_id, credential_id, password=password,
                                       otp=_otp_callback(otp))

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

    A thin wrapper of the composition root (:class:`~eflows_kernel.services.app.Services`)
    with the defaults of the server extension (``$EFLOWS_STATE_URL`` or
    ``<jupyter data dir>/eflows/state.sqlite``, ``vault.key``, ``runs/``), so a
    script and a Jupyter server on the same account share their state.
    """

    url = None

    def __init__(self, state_url: str | None = None, vault_key_file: str | Path | None = None,
                 runs_dir: str | Path | None = None, workers: int | None = None,
                 **config: Any) -> None:
        """``config``: more of ``ServicesConfig`` (e.g. ``catalogue_paths``)."""
        self.services = Services(ServicesConfig(state_url=state_url,
                                                vault_key_file=vault_key_file,
                                                runs_dir=runs_dir, local_workers=workers,
                                                **config))
        self.store = self.services.store
        self.registry = self.services.registry
        self.execution_store = self.services.execution_store
        self.workflows = LocalWorkflows(self.services)
        self.credentials = LocalCredentials(_LazyVault(self))  # type: ignore[arg-type]
        self.executions = LocalExecutions(self)
        self.sites = LocalSites(self)
        self.runs = LocalRuns(self.services)
        self.data = LocalData(self.services)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r})"

    @property
    def runs_dir(self) -> Path:
        """Where the runs' folders are (their logs, events and staged-out outputs)."""
        return self.services.runs_dir

    @property
    def vault_key_file(self) -> Path:
        return self.services.config.vault_key_path

    @property
    def workers(self) -> int | None:
        return self.services.config.local_workers

    @property
    def vault(self) -> CredentialVault:
        """Made on first use: it creates the master key file, which listing runs need not."""
        return self.services.vault

    @property
    def site_service(self) -> Any:
        return self.services.site_service

    def status(self) -> dict[str, Any]:
        return self.services.status()

    def close(self, cancel_runs: bool = False) -> None:
        """Release the database; runs keep going unless ``cancel_runs``.

        A later ``LocalClient`` (or a Jupyter server) adopts runs still going, so a
        script may trigger a run and exit.
        """
        self.services.close(cancel_runs=cancel_runs)

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
