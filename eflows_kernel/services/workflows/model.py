"""The registered workflow, as plain pydantic models.

One model serves every way a workflow arrives (an eFlows4HPC TOSCA registry folder,
a single PyCOMPSs file, a folder with ``src/``, a spec written in a notebook), so
the deployer and the HPCWaaS routes only ever see this shape. Everything is
JSON-serialisable with ``model_dump(mode="json")`` because persistence stores that.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from eflows_kernel.services.bounds import TooStrange, check_value
from eflows_kernel.services.paths import check_name

InputType = Literal["string", "integer", "float", "boolean", "path", "list", "map"]
INPUT_TYPES: tuple[str, ...] = ("string", "integer", "float", "boolean", "path", "list", "map")

# dls: an eFlows4HPC DLS stage-in/out (B2SHARE records); image: a built container image;
# mlflow / mlflow_search: a model / model-search results into an MLflow tracking server
MovementKind = Literal["local", "http", "cluster", "dls", "webdav", "s3", "b2share", "image",
                       "mlflow", "mlflow_search"]


class _Model(BaseModel):
    # Unknown keys in a spec are a typo more often than a wish: refuse them.
    model_config = ConfigDict(extra="forbid")


class WorkflowWarning(_Model):
    """Something in the source that was not mapped, kept so nothing is dropped silently."""

    path: str = ""
    message: str


class WorkflowInput(_Model):
    """One value a user gives when executing (the HPCWaaS ``inputs`` object)."""

    name: str
    type: InputType = "string"
    required: bool = True
    default: Any | None = None
    description: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value, "input name")

    @field_validator("default")
    @classmethod
    def _default(cls, value: Any) -> Any:
        try:  # NaN once became null silently; a huge or deep default broke listings
            return check_value(value, "the default")
        except TooStrange as exc:
            raise ValueError(str(exc)) from None


class ContainerBuild(_Model):
    """A container image the eFlows4HPC image-creation service would build for a step."""

    name: str
    workflow: str
    step_id: str
    machine: dict[str, Any] = Field(default_factory=dict)  # engine, platform, arch, mpi, gpu
    service_url: str | None = None
    force: bool = False
    options: dict[str, Any] = Field(default_factory=dict)


class SoftwareNeeds(_Model):
    """What a step needs installed (``eflows4hpc.yaml``: apt / pip / spack / conda).

    ``spack`` holds the specs; the rest of the spack section (``packages``,
    compiler preferences...) is kept as-is in ``spack_config``.
    """

    pip: list[str] = Field(default_factory=list)
    apt: list[str] = Field(default_factory=list)
    spack: list[str] = Field(default_factory=list)
    spack_config: dict[str, Any] = Field(default_factory=dict)
    conda: list[str] = Field(default_factory=list)
    containers: list[ContainerBuild] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)  # the files this was read from
    raw: dict[str, Any] = Field(default_factory=dict)  # file path -> parsed content

    def merge(self, other: SoftwareNeeds) -> SoftwareNeeds:
        """Union of two needs (several steps in one workflow), order kept, no duplicates."""

        def union(a: list[Any], b: list[Any]) -> list[Any]:
            return a + [x for x in b if x not in a]

        return SoftwareNeeds(
            pip=union(self.pip, other.pip), apt=union(self.apt, other.apt),
            spack=union(self.spack, other.spack),
            spack_config={**self.spack_config, **other.spack_config},
            conda=union(self.conda, other.conda),
            containers=self.containers + other.containers,
            sources=union(self.sources, other.sources), raw={**self.raw, **other.raw},
        )


_PERIOD = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_MAX_PERIOD_S = 366 * 86400  # as the transfer schedules (services/transfers/schedules.py)


def period_problem(value: str) -> str | None:
    """Why ``value`` is not a movement's ``every`` period (``10m``, ``1h30m``, ``30s``),
    or None: from one second to 366 days, as a transfer schedule takes it."""
    match = _PERIOD.fullmatch(value.strip().lower()) if value else None
    if match is None or not any(match.groups()):
        return f"every must be a period such as 10m, 1h30m or 30s, not {value[:40]!r}"
    d, h, m, sec = (int(g or 0) for g in match.groups())
    if not 1 <= ((d * 24 + h) * 60 + m) * 60 + sec <= _MAX_PERIOD_S:
        return f"every must be from 1 s to 366 days, not {value[:40]!r}"
    return None


class DataMovement(_Model):
    """A stage-in (before the steps) or stage-out (after) of data or an image.

    ``source`` and ``target`` are templates: ``${input}`` references are filled
    from the execution inputs.
    """

    name: str
    direction: Literal["in", "out"]
    kind: MovementKind
    source: str = ""
    target: str = ""
    environment: str | None = None  # the abstract environment (cluster) it runs against
    depends_on: list[str] = Field(default_factory=list)
    credential_id: str | None = None  # the data service login (default: found by URL)
    every: str | None = None  # out-movements: also sync this often while the run goes
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value, "data movement name")

    @field_validator("every")
    @classmethod
    def _every(cls, value: str | None) -> str | None:
        # A template (``${period}``) is checked once filled, at trigger
        # (``movement_fields.render_every``); its references at registration.
        if value is not None and "$" not in value and (problem := period_problem(value)):
            raise ValueError(problem)
        return value


# A declared output (``workflows/step_outputs.py``): no '.' in its name, so
# ``steps.<step>.outputs.<name>`` reads one way only; its path relative to the step's run
# directory, never climbing out of it (JSON Schema and Python ``re`` read the look-aheads
# alike). Registration checks both with the field's path; the spec's schema says them too.
OUTPUT_NAME_REGEX = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
OUTPUT_PATH_REGEX = r"^(?!\s*$)(?![/~])(?!(.*/)?\.\.(/|$))(?![./]*$).+$"


class Step(_Model):
    """One PyCOMPSs job: an application file run with templated arguments."""

    name: str
    application: str  # e.g. src/wordcount.py or /wordcount/src/wordcount_blocks.py
    arguments: list[str] = Field(default_factory=list)  # may hold ${input} references
    num_nodes: int | str | None = None  # a str is a template such as "${num_nodes}"
    qos: str | None = None
    time_limit: str | None = None  # Slurm's --time (the site's default otherwise)
    env: dict[str, str] = Field(default_factory=dict)  # environment variables of the job
    python_interpreter: str | None = None
    compss_modules: list[str] = Field(default_factory=list)
    extra_compss_opts: str | None = None
    container_image: str | None = None  # "<workflow>/<step_id>" of a ContainerBuild
    container_opts: dict[str, str] = Field(default_factory=dict)
    keep_environment: bool = False
    environment: str | None = None
    depends_on: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)
    # name -> a path relative to its run directory (a template allowed), which later
    # steps read as ${steps.<step>.outputs.<name>}; missing at the end, the step failed
    outputs: dict[str, str] = Field(default_factory=dict, json_schema_extra={
        "propertyNames": {"pattern": OUTPUT_NAME_REGEX},
        "additionalProperties": {"type": "string", "pattern": OUTPUT_PATH_REGEX}})

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value, "step name")

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                raise ValueError(f"environment variable name {name!r} may only contain "
                                 "letters, digits and '_' (not first)")
        return value

    @field_validator("application")
    @classmethod
    def _application(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("step application must not be empty")
        return value


class SiteCopy(_Model):
    """A copy of a path on one site to a path on another, between two steps.

    What the DLS's ``SSH2SSH`` node does; here it becomes a copy step of the plan
    (``executions/plan_copies.py``), through this server. ``source_environment`` and
    ``environment`` are the roles bound to the two sites at trigger; ``source_host`` /
    ``target_host`` (when given) must name a bound site's host. Paths and hosts are
    templates filled from the execution inputs.
    """

    name: str
    source_environment: str | None = None
    environment: str | None = None  # the target site's role
    source_path: str = ""
    target_path: str = ""
    source_host: str | None = None
    target_host: str | None = None
    depends_on: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value, "site copy name")


class Workflow(_Model):
    """A registered workflow: what to ask the user, what to run, what to move."""

    name: str
    version: str = "0.1.0"
    description: str = ""
    inputs: list[WorkflowInput] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    software: SoftwareNeeds = Field(default_factory=SoftwareNeeds)
    data_movements: list[DataMovement] = Field(default_factory=list)
    site_copies: list[SiteCopy] = Field(default_factory=list)
    environments: list[str] = Field(default_factory=list)
    source: dict[str, Any] = Field(default_factory=dict)  # where it came from
    warnings: list[WorkflowWarning] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value, "workflow name")

    @model_validator(mode="after")
    def _unique_names(self) -> Workflow:
        for what, names in (("input", [i.name for i in self.inputs]),
                            ("step", [s.name for s in self.steps]),
                            ("data movement", [d.name for d in self.data_movements]),
                            ("site copy", [c.name for c in self.site_copies])):
            seen: set[str] = set()
            for name in names:
                if name in seen:
                    raise ValueError(f"duplicate {what} name {name!r}")
                seen.add(name)
        return self

    def input(self, name: str) -> WorkflowInput:
        """The declared input called ``name`` (KeyError naming it otherwise)."""
        for item in self.inputs:
            if item.name == name:
                return item
        raise KeyError(f"workflow '{self.name}' has no input '{name}'")

    def step(self, name: str) -> Step:
        """The step called ``name`` (KeyError naming it otherwise)."""
        for item in self.steps:
            if item.name == name:
                return item
        raise KeyError(f"workflow '{self.name}' has no step '{name}'")
