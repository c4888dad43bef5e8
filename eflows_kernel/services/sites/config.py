"""What a site is: its settings as a user gives them, the stored site, a check's report.

Pure data and validation (pydantic): the service (``service.py``) and the storage
(``store.py``, ``repository.py``) build on these, and so do the executors and clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from eflows_kernel.services.errors import ConflictError, NotFoundError, ValidationError
from eflows_kernel.services.hpc.local_shell import local_login
from eflows_kernel.services.hpc.ssh import HostKey
from eflows_kernel.services.paths import NAME_REGEX

LOCAL_HOST = "localhost"  # what a local site's host reads as (it is never connected to)
_SAFE_TOKEN = r"^[A-Za-z0-9_.,:@+=-]+$"  # goes into sbatch arguments: no spaces, no quotes


class SiteError(ValidationError):
    """Bad input for a site (400)."""


class SiteNotFound(NotFoundError):
    """No such site (404)."""


class SiteExists(ConflictError):
    """A site with that name exists already (409)."""


class FingerprintMismatch(ConflictError):
    """The site presents another host key than the one the user confirmed (409)."""


class PythonConfig(BaseModel):
    """How the site's Python with our package is found: already installed, or bootstrapped."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["existing", "bootstrap"] = "bootstrap"
    path: str = Field("python3", min_length=1, max_length=4096, pattern=r"^[^\s'\"`$;&|<>]+$")
    offline: bool = Field(False, description="the site has no internet access: its "
                          "environment is installed from a wheelhouse uploaded from here")


class SiteConfig(BaseModel):
    """What a user says about a site; everything it lacks (the host key) is learned by trust.

    ``connection: local`` is the host this server runs on (a login node, a batchspawner
    job): commands and files are local, there is no host key and no credential, and the
    login is the server's own account (``host`` and ``login`` may be left out).
    """

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, pattern=NAME_REGEX)
    connection: Literal["ssh", "local"] = Field(
        "ssh", description="ssh: log in to host:port; local: the server's own host, "
        "its sbatch and filesystem, as the server's account")
    host: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_.:%-]+$")
    port: int = Field(22, ge=1, le=65535)
    login: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.][A-Za-z0-9_.-]*$")
    scheduler: Literal["slurm", "none"] = "slurm"
    partition: str | None = Field(None, max_length=128, pattern=_SAFE_TOKEN)
    qos: str | None = Field(None, max_length=128, pattern=_SAFE_TOKEN)
    account: str | None = Field(None, max_length=128, pattern=_SAFE_TOKEN)
    time_limit: str | None = Field(None, max_length=32,
                                   pattern=r"^(?:[0-9]+-)?[0-9]+(?::[0-9]+){0,2}$")
    runtime: Literal["eflows", "compss"] = Field(
        "eflows", description="what runs the workflow on the site: our runner on Dask, or the "
        "site's own COMPSs runtime (runcompss inside the job, monitored into task events)")
    runcompss: str = Field("runcompss", min_length=1, max_length=4096,
                           pattern=r"^[^\s'\"`$;&|<>]+$",
                           description="the runcompss command on the site (runtime compss)")
    transfer_streams: int = Field(
        1, ge=1, le=8, description="SSH connections one large upload may use at once; more "
        "help on a long fat network to a many-core login node, and cost on a small one "
        "(benchmarks/bench_stage_in.py measures it)")
    workdir: str = Field("~/eflows", min_length=1, max_length=4096, pattern=r"^[^\x00\n\r]+$")
    python: PythonConfig = Field(default_factory=PythonConfig)
    worker_resources: dict[Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,31}$")],
                           Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict, max_length=16,
        description="more resources each Dask worker of a run declares per node, e.g. "
        "{\"GPU\": 4}: tasks with @constraint(processors=[{\"processorType\": \"GPU\", "
        "...}]) only run where one is free")
    container_engine: Literal["docker", "podman", "singularity", "apptainer", "udocker",
                              "charliecloud"] | None = Field(
        None, description="the container runtime that runs steps with a container_image "
        "(default: chosen on the site from the image: a directory is Charliecloud's, a "
        ".sif Singularity's or Apptainer's)")

    @model_validator(mode="before")
    @classmethod
    def _local_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("connection") == "local":
            data = {"host": LOCAL_HOST, "login": local_login(), **data}
        return data

    @property
    def is_local(self) -> bool:
        return self.connection == "local"

    @field_validator("workdir")
    @classmethod
    def _own_home_only(cls, value: str) -> str:
        # "~other/x" would need the shell to expand it: only the login's own home is meant.
        if value.startswith("~") and value != "~" and not value.startswith("~/"):
            raise ValueError("use an absolute path, ~/..., or a path relative to the login's "
                             "home (not ~otheruser/...)")
        return value


@dataclass(frozen=True)
class Site:
    """A stored site: its config and the host key the user (or the operator) trusted."""

    id: str
    config: SiteConfig
    host_key: HostKey | None
    operator: bool = False  # set by the centre's operator: read-only for users

    @property
    def name(self) -> str:
        return self.config.name

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, **self.config.model_dump(),
                "host_key": None if self.host_key is None else self.host_key.to_dict(),
                "operator": self.operator}


@dataclass
class CheckReport:
    """Result of :meth:`SiteService.check`; ``problems`` holds one sentence per failing item.

    Items that could not be tried because an earlier one failed stay ``None``.
    """

    reachable: bool = False
    host_key: Literal["ok", "unknown", "changed"] | None = None
    presented_fingerprint: str | None = None
    authenticated: bool | None = None
    scheduler: bool | None = None
    python: bool | None = None
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "reachable": self.reachable, "host_key": self.host_key,
                "presented_fingerprint": self.presented_fingerprint,
                "authenticated": self.authenticated, "scheduler": self.scheduler,
                "python": self.python, "problems": dict(self.problems)}
