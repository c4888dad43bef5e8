"""The client interface, once: what ``EflowsClient`` (REST) and ``LocalClient`` both offer.

The CLI, the portal's widgets (``ui/``) and the kernel's magics type against
:class:`Client`, so they work the same on a Jupyter server's services and on this
process's. Results are the services' own models and errors the services' own classes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from eflows_kernel.services.executions import LOCAL_SITE

if TYPE_CHECKING:  # the models only name the results (importing them costs paramiko)
    from eflows_kernel.events.follow import Follower
    from eflows_kernel.services.credentials import CredentialInfo
    from eflows_kernel.services.executions import Execution
    from eflows_kernel.services.hpc.ssh import HostKey
    from eflows_kernel.services.sites import CheckReport, Site
    from eflows_kernel.services.state import Page
    from eflows_kernel.services.workflows import RegisteredWorkflow


class WorkflowsAPI(Protocol):
    def list(self, name: str | None = None, limit: int = 50,
             offset: int = 0) -> Page[Any]:
        """A page of workflow summaries (dicts: id, name, version, description, inputs)."""

    def get(self, workflow_id: str) -> RegisteredWorkflow: ...
    def register_spec(self, spec: Mapping[str, Any]) -> RegisteredWorkflow: ...
    def register_python_file(self, path: str, **options: Any) -> RegisteredWorkflow: ...

    def import_folder(self, path: str) -> dict[str, Any]:
        """``{"registered": [summaries], "warnings": [...]}``."""

    def delete(self, workflow_id: str) -> None: ...

    def spec_schema(self) -> dict[str, Any]:
        """The JSON Schema of a workflow spec (what ``register_spec`` accepts)."""


class CredentialsAPI(Protocol):
    def generate(self, name: str, kind: str = "ed25519", bits: int | None = None,
                 comment: str | None = None) -> CredentialInfo: ...
    def import_key(self, name: str, private_key: str, passphrase: str | None = None,
                   certificate: str | None = None,
                   comment: str | None = None) -> CredentialInfo: ...
    def list(self) -> list[CredentialInfo]: ...
    def get(self, credential_id: str) -> CredentialInfo: ...
    def delete(self, credential_id: str) -> None: ...


class ExecutionsAPI(Protocol):
    def trigger(self, workflow_id: str, inputs: Mapping[str, Any] | None = None,
                site: str | Mapping[str, str] = LOCAL_SITE,
                credential_id: str | None = None, *,
                password: str | None = None,
                one_time_code: str | None = None) -> Execution: ...
    def get(self, execution_id: str) -> Execution: ...
    def list(self, state: str | list[str] | None = None, workflow_id: str | None = None,
             site: str | None = None, limit: int = 50,
             offset: int = 0) -> Page[Execution]: ...
    def cancel(self, execution_id: str) -> Execution: ...

    def checkpoint_tasks(self, execution_id: str) -> int:
        """Tasks a finished run's checkpoint holds (a re-run can resume from any)."""

    def resume(self, execution_id: str, *, password: str | None = None,
               one_time_code: str | None = None) -> Execution:
        """A new run of a finished one, from its checkpoint (409 if it left none)."""

    def logs(self, execution_id: str, offset: int = 0,
             size: int | None = None, step: str | None = None) -> tuple[str, int]:
        """Output from byte ``offset`` and the offset to ask next (``step``: one step
        of a step graph)."""

    def events(self, execution_id: str, from_seq: int = 0) -> list[dict[str, Any]]: ...
    def wait(self, execution_id: str, timeout: float) -> Execution: ...

    def steps(self, execution_id: str) -> list[dict[str, Any]]:
        """Each step (name, site, depends_on, state, execution_id, job_id, error)."""

    def follow(self, execution_id: str, from_seq: int = 0) -> Iterator[dict[str, Any]]:
        """Every event after ``from_seq`` as it happens, until the run has ended."""

    def follower(self, execution_id: str, from_seq: int = 0) -> Follower:
        """A follower to poll on one's own clock (``poll()``, ``done``, ``latest``)."""


class RunsAPI(Protocol):
    """A run's folder (its files, previews, downloads) and removing finished runs.

    ``files`` answers ``{"items": [{path, bytes, kind, ...}], "outputs": {name: {...}}}``;
    over REST each entry has a download ``url`` and, under the server's root, a
    ``lab_url`` opening it in JupyterLab; in-process it has its ``local_path``.
    ``step``: that step's folder, for a step graph (each step runs in a folder of its own,
    here and on its site); without it, the run's own folder.
    """

    def files(self, execution_id: str, step: str | None = None) -> dict[str, Any]: ...
    def preview(self, execution_id: str, path: str,
                step: str | None = None) -> dict[str, Any]: ...
    def download(self, execution_id: str, path: str, target: str | Path,
                 step: str | None = None) -> Path: ...
    def delete(self, execution_id: str) -> None: ...
    def archive(self, execution_id: str) -> str: ...

    def site_files(self, execution_id: str, step: str | None = None) -> list[dict[str, Any]]:
        """A remote run's folder on its site: ``[{path, bytes, kind, ...}]``."""

    def site_download(self, execution_id: str, path: str, target: str | Path,
                      step: str | None = None) -> Path: ...

    def step_files(self, execution_id: str) -> list[dict[str, Any]]:
        """Every step's folder on its own site: ``[{step, site, execution_id, state,
        status, where, message, items}]``; ``status`` says why a step lists nothing
        (``not_started``, ``site_gone``, ``unreachable``, ``no_folder``)."""


class SitesAPI(Protocol):
    """A site is given by its id or by its name."""

    def add(self, config: Mapping[str, Any]) -> Site: ...
    def list(self) -> list[Site]: ...
    def get(self, site: str) -> Site: ...
    def update(self, site: str, config: Mapping[str, Any]) -> Site: ...
    def delete(self, site: str) -> None: ...
    def scan(self, site: str) -> HostKey: ...
    def trust(self, site: str, fingerprint: str) -> Site: ...
    def check(self, site: str, credential_id: str) -> CheckReport: ...
    def authorize(self, site: str, credential_id: str, password: str | None = None,
                  otp: str | None = None) -> dict[str, Any]: ...
    def revoke(self, site: str, credential_id: str, password: str | None = None,
               otp: str | None = None) -> dict[str, Any]: ...


class DataAPI(Protocol):
    """Data service logins (secrets in, never out) and periodic transfers, as JSON."""

    def add_login(self, name: str, kind: str, url: str, username: str = "", secret: str = "",
                  token: str = "", options: Mapping[str, str] | None = None
                  ) -> dict[str, Any]: ...
    def logins(self) -> list[dict[str, Any]]: ...
    def delete_login(self, credential_id: str) -> None: ...
    def schedule(self, spec: Mapping[str, Any]) -> dict[str, Any]: ...
    def schedules(self, execution_id: str | None = None) -> list[dict[str, Any]]: ...
    def get_schedule(self, schedule_id: str) -> dict[str, Any]: ...
    def pause(self, schedule_id: str) -> dict[str, Any]: ...
    def resume(self, schedule_id: str) -> dict[str, Any]: ...
    def delete_schedule(self, schedule_id: str) -> None: ...


class Client(Protocol):
    """The eflows services, wherever they live: a Jupyter server, or this process."""

    workflows: WorkflowsAPI
    credentials: CredentialsAPI
    executions: ExecutionsAPI
    sites: SitesAPI
    runs: RunsAPI
    data: DataAPI

    @property
    def url(self) -> str | None:
        """The server's base URL; None for the services in this process."""

    def status(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


__all__ = ["LOCAL_SITE", "Client", "CredentialsAPI", "DataAPI", "ExecutionsAPI", "RunsAPI",
           "SitesAPI", "WorkflowsAPI"]
