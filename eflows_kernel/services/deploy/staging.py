"""Which data a remote execution moves, decided from the workflow and the user's inputs.

Stage-in comes from two places: the workflow's declared ``in`` data movements, and its
``path`` inputs. A path input's value says where the data is:

* ``http://`` / ``https://`` URL: downloaded to the site;
* ``cluster:/path/on/the/site``: already there, passed on as that path (checked to exist
  before submission);
* anything else: a file or folder on the Jupyter side, uploaded into the run directory.

Everything that can be checked on this side (a missing local file, an unsupported kind
of movement, a data location that does not read or has no login) is checked when the
execution is requested, so a bad request creates nothing. Stage-out comes from the
``out`` movements: a path in the run directory brought back to ``<run folder>/outputs``
here (or recorded as a cluster path), or sent to a data service.

The movements of the eFlows4HPC Data Logistics Service (``dls.ansible.nodes.*``) are
done here, by the transfer layer: WebDAV/B2DROP, S3, B2SHARE records (``dls``: a record
id or URL), container images (``image``: from the operator's image store) go through
this server (``services/transfers``); HTTP->SSH is fetched by the site itself.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from eflows_kernel.services.errors import ServiceError, ValidationError
from eflows_kernel.services.hpc.transfer import TransferError, url_file_name
from eflows_kernel.services.paths import safe_relative
from eflows_kernel.services.transfers import DATA_KINDS, DataLogistics, Location, resolve
from eflows_kernel.services.workflows import (
    ArgumentRenderError,
    DataMovement,
    Workflow,
    render_arguments,
)

CLUSTER_PREFIX = "cluster:"
SUPPORTED_IN = ("local", "http", "cluster", *DATA_KINDS)
SUPPORTED_OUT = ("local", "cluster", "webdav", "s3", "b2share", "dls")


@dataclass(frozen=True)
class StageIn:
    name: str  # the input or data movement it comes from
    kind: Literal["local", "http", "cluster", "data"]
    source: str  # local path, URL, or path on the site
    target_dir: str  # directory on the site (relative to the run directory)
    location: Location | None = None  # kind "data": the service, resolved with its login


@dataclass(frozen=True)
class StageOut:
    name: str
    source: str  # path on the site, relative to the run directory or absolute
    keep_on_cluster: bool  # only record the path (kind "cluster")
    location: Location | None = None  # to a data service instead of this machine
    every: str | None = None  # also synced this often while the run goes


@dataclass(frozen=True)
class DataPlan:
    stage_in: list[StageIn]
    stage_out: list[StageOut]
    values: dict[str, Any]  # the inputs as the application sees them on the site
    cluster_paths: list[tuple[str, str]]  # (input name, path) to check on the site


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _render(movement: DataMovement, template: str, values: dict[str, Any]) -> str:
    try:
        return render_arguments(template, values)
    except ArgumentRenderError as exc:
        raise ValidationError(f"data movement {movement.name!r}: {exc}",
                              fields={movement.name: str(exc)}) from None


def _data_location(movement: DataMovement, value: str, logistics: DataLogistics | None,
                   values: dict[str, Any]) -> Location:
    """Where a DLS-kind movement's data is, with its login (ValidationError if unclear)."""
    if logistics is None:
        raise ValidationError(f"{movement.kind} movements need the data logistics of a "
                              "server (none configured here)")
    if movement.kind == "image":
        value = logistics.image_location(value)
    login = _render(movement, movement.credential_id, values) if movement.credential_id \
        else None
    return resolve(value, movement.kind, logistics.credentials(), login, movement.direction)


def plan(workflow: Workflow, values: dict[str, Any], check_local: bool = True,
         logistics: DataLogistics | None = None) -> DataPlan:
    """The transfers of one execution, with local sources checked now.

    ``check_local=False`` re-plans a run that was submitted already (after a server
    restart, for its stage-out): its inputs were checked then and may be gone now.
    ``logistics`` resolves the data services' locations and logins.
    """
    stage_in: list[StageIn] = []
    stage_out: list[StageOut] = []
    cluster_paths: list[tuple[str, str]] = []
    remote_values = dict(values)
    problems: dict[str, str] = {}
    for declared in workflow.inputs:
        value = values.get(declared.name)
        if declared.type != "path" or not isinstance(value, str) or not value:
            continue
        target = posixpath.join("inputs", declared.name)
        if _is_url(value):
            try:
                name = url_file_name(value)
            except TransferError as exc:
                problems[declared.name] = exc.message
                continue
            stage_in.append(StageIn(declared.name, "http", value, target))
            remote_values[declared.name] = posixpath.join(target, name)
        elif value.startswith(CLUSTER_PREFIX):
            path = value[len(CLUSTER_PREFIX):]
            if not path:
                problems[declared.name] = "'cluster:' must be followed by a path on the site"
                continue
            cluster_paths.append((declared.name, path))
            remote_values[declared.name] = path
        else:
            local = Path(value).expanduser()
            if check_local and not local.exists():
                problems[declared.name] = (
                    f"{value} does not exist on this machine; give an existing file or "
                    "folder to upload, an http(s):// URL, or cluster:/path for data already "
                    "on the site")
                continue
            stage_in.append(StageIn(declared.name, "local", str(local.resolve()), target))
            remote_values[declared.name] = posixpath.join(target, local.resolve().name)
    for movement in workflow.data_movements:
        supported = SUPPORTED_IN if movement.direction == "in" else SUPPORTED_OUT
        if movement.kind not in supported:
            problems[movement.name] = (
                f"{movement.direction}-movements of kind {movement.kind!r} are not done "
                f"(this deployer moves {', '.join(supported)}); declare the data as a "
                "path input")
            continue
        try:
            source = _render(movement, movement.source, values)
            target = _render(movement, movement.target, values) if movement.target else ""
            if movement.kind in DATA_KINDS and movement.kind != "http":
                remote = source if movement.direction == "out" else target
                if remote.startswith(CLUSTER_PREFIX):
                    remote = remote[len(CLUSTER_PREFIX):]
                safe = remote if remote.startswith("/") else safe_relative(
                    remote or "inputs", "the path on the site")
                endpoint = target if movement.direction == "out" else source
                if not endpoint:
                    side = "target" if movement.direction == "out" else "source"
                    raise ValidationError(f"the {side} (the data service's location) is empty")
                location = _data_location(movement, endpoint, logistics, values)
                if movement.direction == "out":
                    stage_out.append(StageOut(movement.name, safe, False, location,
                                              movement.every))
                else:
                    stage_in.append(StageIn(movement.name, "data", endpoint, safe, location))
                continue
        except ServiceError as exc:
            problems[movement.name] = exc.message
            continue
        if movement.direction == "out":
            stage_out.append(StageOut(movement.name, source, movement.kind == "cluster",
                                      every=movement.every))
            continue
        target_dir = target or "inputs"
        if check_local and movement.kind == "local" and not Path(source).expanduser().exists():
            problems[movement.name] = f"stage-in source {source} does not exist on this machine"
            continue
        if movement.kind == "local":
            source = str(Path(source).expanduser().resolve())
        stage_in.append(StageIn(movement.name, movement.kind, source, target_dir))  # type: ignore[arg-type]
    if problems:
        raise ValidationError("some data cannot be staged: " + "; ".join(
            f"{name}: {message}" for name, message in problems.items()), fields=problems)
    return DataPlan(stage_in, stage_out, remote_values, cluster_paths)


def application_source(workflow: Workflow, application: str) -> tuple[str, str, str]:
    """Where the step's application comes from: (kind, path to upload, path inside it)."""
    path = Path(application)
    source = workflow.source
    if source.get("folder"):
        folder = Path(source["folder"])
        if (folder / application.lstrip("/")).is_file():
            return "local", str(folder), application.lstrip("/")
    if path.is_absolute() and path.is_file():
        return "local", str(path), ""
    if source.get("file") and (Path(source["file"]).parent / application).is_file():
        return "local", str(Path(source["file"]).parent / application), ""
    if path.is_absolute():
        return "cluster", application, ""  # e.g. a TOSCA registry naming a path on the site
    raise ValidationError(f"the application {application!r} of workflow {workflow.name!r} "
                          "is not on this machine", application=application)
