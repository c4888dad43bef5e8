"""Which data a remote execution moves, decided from the workflow and the user's inputs.

Stage-in comes from two places: the workflow's declared ``in`` data movements, and its
``path`` inputs. A path input's value says where the data is:

* ``http://`` / ``https://`` URL: downloaded to the site;
* ``cluster:/path/on/the/site``: already there, passed on as that path (checked to exist
  before submission);
* anything else: a file or folder on the Jupyter side, uploaded into the run directory.

Everything that can be checked on this side (a missing local file, an unsupported kind
of movement, a data location that does not read or has no login) is checked when the
execution is requested, so a bad request creates nothing.

Only what the user named for this run leaves this machine: a workflow (imported from a
registry we do not control) chooses its defaults and its movements' sources, so a
default path and a local movement source must stay inside the workflow's own folder
(or inside a path the user gave); a path the user gives explicitly is theirs to choose.
Nothing under a protected path (the Jupyter data dir with the vault key and the state
database, ``~/.ssh``...) is ever uploaded, whoever names it.

Stage-out comes from the ``out`` movements: a path in the run directory brought back to
``<run folder>/outputs`` here (or recorded as a cluster path), or sent to a data service.

The movements of the eFlows4HPC Data Logistics Service (``dls.ansible.nodes.*``) are
done here, by the transfer layer: WebDAV/B2DROP, S3, B2SHARE records (``dls``: a record
id or URL), container images (``image``: from the operator's image store) go through
this server (``services/transfers``); HTTP->SSH is fetched by the site itself.
"""

from __future__ import annotations

import posixpath
import urllib.parse
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from eflows_kernel.services.errors import ServiceError, ValidationError
from eflows_kernel.services.hpc.transfer import UrlPolicy, url_file_name
from eflows_kernel.services.paths import (
    UnsafePath,
    is_under,
    protected_by,
    safe_relative,
    within,
)
from eflows_kernel.services.transfers import (
    DATA_KINDS,
    MLFLOW_KINDS,
    DataLogistics,
    Location,
    check_location,
    resolve,
)
from eflows_kernel.services.workflows import (
    ArgumentRenderError,
    DataMovement,
    InputValidationError,
    Workflow,
    local_application,
    render_arguments,
    source_root,
)
from eflows_kernel.services.workflows.movement_fields import render_every

CLUSTER_PREFIX = "cluster:"
SUPPORTED_IN = ("local", "http", "cluster", *DATA_KINDS)
SUPPORTED_OUT = ("local", "cluster", "webdav", "s3", "b2share", "dls", *MLFLOW_KINDS)
HTTP2SSH = "dls.ansible.nodes.HTTP2SSH"  # its target_path is the file's own path
WEBDAV_STAGE_IN = "dls.ansible.nodes.DLSDAGWebdavStageInData"
# The DLS's WebDAV stage-out writes the files below its source_path into its folder.
WEBDAV_STAGE_OUT = "dls.ansible.nodes.DLSDAGWebdavStageOutData"


@dataclass(frozen=True)
class StageIn:
    name: str  # the input or data movement it comes from
    kind: Literal["local", "http", "cluster", "data"]
    source: str  # local path, URL, or path on the site
    target_dir: str  # directory on the site (relative to the run directory)
    location: Location | None = None  # kind "data": the service, resolved with its login
    file_name: str | None = None  # kind "http": the file's name in target_dir (else the URL's)


@dataclass(frozen=True)
class StageOut:
    name: str
    source: str  # path on the site, relative to the run directory or absolute
    keep_on_cluster: bool  # only record the path (kind "cluster")
    location: Location | None = None  # to a data service instead of this machine
    every: str | None = None  # also synced this often while the run goes
    contents: bool = False  # a folder's files go into the location, not the folder itself


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


def _every(movement: DataMovement, values: dict[str, Any]) -> str | None:
    """The movement's period, its template filled (checked at trigger already)."""
    try:
        return render_every(movement, values)
    except InputValidationError as exc:
        raise ValidationError(f"data movement {movement.name!r}: "
                              + "; ".join(exc.errors.values()), fields=exc.errors) from None


class _Refused(ValueError):
    """Internal: a local source that must not be uploaded (the message says why)."""


def check_uploadable(path: Path, protected: Sequence[Path]) -> Path:
    """``path`` resolved, unless it is, or holds, something that never leaves this machine."""
    root = protected_by(path, protected)
    if root is not None:
        raise _Refused(f"{path} is or holds the server's private data ({root}: the "
                       "vault key, the state database, SSH keys or the runs); it is "
                       "never uploaded")
    return path.resolve()


def _workflow_path(workflow: Workflow, value: str, what: str) -> Path:
    """A path the workflow chose: relative to its own folder, and staying in it."""
    folder = source_root(workflow)
    if folder is None or value.startswith("~"):
        raise _Refused(f"{what} {value!r} comes from the workflow, not from you, and the "
                       "workflow has no folder it could be in; give the path yourself to "
                       "upload it")
    try:
        if Path(value).is_absolute():
            if not is_under(value, folder):
                raise UnsafePath(value)
            return Path(value).resolve()
        return within(folder, value)
    except UnsafePath:
        raise _Refused(f"{what} {value!r} comes from the workflow and is outside its folder "
                       f"{folder}; give the path yourself to upload it") from None


def _data_location(movement: DataMovement, value: str, logistics: DataLogistics | None,
                   values: dict[str, Any], url_policy: UrlPolicy | None) -> Location:
    """Where a DLS-kind movement's data is, with its login (ValidationError if unclear);
    this server fetches or sends it, so its host is checked against ``url_policy``."""
    if logistics is None:
        raise ValidationError(f"{movement.kind} movements need the data logistics of a "
                              "server (none configured here)")
    if movement.kind == "image":
        value = logistics.image_location(value)
    login = _render(movement, movement.credential_id, values) if movement.credential_id \
        else None
    connection = movement.options.get("connection") or movement.options.get("conn_id")
    return check_location(resolve(value, movement.kind, logistics.credentials(), login,
                                  movement.direction, connection and str(connection)),
                          url_policy)


def plan(workflow: Workflow, values: dict[str, Any], check_local: bool = True,
         protected: Sequence[Path] = (), url_policy: UrlPolicy | None = None,
         movements: Collection[str] | None = None,
         logistics: DataLogistics | None = None) -> DataPlan:
    """The transfers of one execution, with local sources checked now.

    ``check_local=False`` re-plans a run that was submitted already (after a server
    restart, for its stage-out): its inputs were checked then and may be gone now.
    A value equal to the input's declared default is the workflow's choice, not the
    user's (see the module's docstring); ``protected`` are never uploaded; URLs are
    checked against ``url_policy`` (no secrets in them, no private hosts).
    ``movements``: the data movements this step of a step graph does (None: all).
    ``logistics`` resolves the data services' locations and logins.
    """
    stage_in: list[StageIn] = []
    stage_out: list[StageOut] = []
    cluster_paths: list[tuple[str, str]] = []
    remote_values = dict(values)
    problems: dict[str, str] = {}
    given: list[Path] = []  # the local paths the user named for this run
    for declared in workflow.inputs:
        value = values.get(declared.name)
        if declared.type != "path" or not isinstance(value, str) or not value:
            continue
        target = posixpath.join("inputs", declared.name)
        if _is_url(value):
            try:
                name = url_file_name(value)
                if url_policy is not None and check_local:
                    url_policy.check(value)
            except ServiceError as exc:
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
            try:
                local = _workflow_path(workflow, value, "the default path") \
                    if value == declared.default else Path(value).expanduser()
                if check_local and not local.exists():
                    raise _Refused(
                        f"{value} does not exist on this machine; give an existing file or "
                        "folder to upload, an http(s):// URL, or cluster:/path for data "
                        "already on the site")
                local = check_uploadable(local, protected)
            except _Refused as exc:
                problems[declared.name] = str(exc)
                continue
            if value != declared.default:
                given.append(local)
            stage_in.append(StageIn(declared.name, "local", str(local), target))
            remote_values[declared.name] = posixpath.join(target, local.name)
    for movement in workflow.data_movements:
        if movements is not None and movement.name not in movements:
            continue
        supported = SUPPORTED_IN if movement.direction == "in" else SUPPORTED_OUT
        if movement.kind not in supported:
            problems[movement.name] = (
                f"{movement.direction}-movements of kind {movement.kind!r} are not done "
                f"(this deployer moves {', '.join(supported)}); declare the data as a "
                "path input")
            continue
        try:
            every = _every(movement, values)
            source = _render(movement, movement.source, values)
            target = _render(movement, movement.target, values) if movement.target else ""
            if movement.kind in DATA_KINDS and movement.kind != "http":
                remote = source if movement.direction == "out" else target
                if remote.startswith(CLUSTER_PREFIX):
                    remote = remote[len(CLUSTER_PREFIX):]
                safe = remote if remote.startswith("/") else safe_relative(
                    remote or "inputs", "the path on the site")
                endpoint = target if movement.direction == "out" else source
                if not endpoint and movement.kind not in MLFLOW_KINDS:
                    side = "target" if movement.direction == "out" else "source"
                    raise ValidationError(f"the {side} (the data service's location) is empty")
                location = _data_location(movement, endpoint, logistics, values,
                                          url_policy if check_local else None)
                if movement.direction == "out":
                    contents = movement.options.get("tosca_type") == WEBDAV_STAGE_OUT
                    stage_out.append(StageOut(movement.name, safe, False, location,
                                              every, contents))
                else:
                    stage_in.append(StageIn(movement.name, "data", endpoint, safe, location))
                continue
        except ServiceError as exc:
            problems[movement.name] = exc.message
            continue
        if movement.direction == "out":
            stage_out.append(StageOut(movement.name, source, movement.kind == "cluster",
                                      every=every))
            continue
        target_dir = target or "inputs"
        if movement.kind == "http" and url_policy is not None and check_local:
            try:
                url_policy.check(source)
            except ServiceError as exc:
                problems[movement.name] = exc.message
                continue
        if movement.kind == "local":
            try:
                source = str(_movement_source(workflow, source, given, protected,
                                              check_local))
            except _Refused as exc:
                problems[movement.name] = str(exc)
                continue
        file_name = None
        if (movement.kind == "http" and movement.options.get("tosca_type") == HTTP2SSH
                and not target_dir.endswith("/")):
            # The DLS writes the URL's bytes at its target_path itself (a file's path).
            # A path ending in "/" names a folder (the DLS fails on it): the file goes
            # into it under the URL's name, beside what other stage-ins put there
            # (mlesmap's HTTP2SSH and WebDAV stage-in both target its data_path).
            target_dir, file_name = posixpath.split(target_dir.rstrip("/"))
            if not file_name:
                problems[movement.name] = "its target_path names no file on the site"
                continue
        stage_in.append(StageIn(movement.name, movement.kind, source, target_dir or ".",  # type: ignore[arg-type]
                                file_name=file_name))
    if problems:
        raise ValidationError("some data cannot be staged: " + "; ".join(
            f"{name}: {message}" for name, message in problems.items()), fields=problems)
    return DataPlan(stage_in, stage_out, remote_values, cluster_paths)


def folder_name(movement: DataMovement | None, url: str) -> str | None:
    """The name a stage-in's folder keeps on the site, or None: its files go into the
    target itself. The DLS's WebDAV stage-in writes the folder its object id names
    under that name (``Regions/`` into ``<target_path>/Regions/``: ftrt stages two
    folders into one ``data_path`` and reads ``data_path/Regions`` and
    ``data_path/Templates``); a B2SHARE record's files go into the target."""
    if movement is None or movement.options.get("tosca_type") != WEBDAV_STAGE_IN:
        return None
    name = posixpath.basename(urllib.parse.unquote(urllib.parse.urlsplit(url).path)
                              .rstrip("/"))
    return name or None


def _movement_source(workflow: Workflow, source: str, given: Sequence[Path],
                     protected: Sequence[Path], check_local: bool) -> Path:
    """A local movement's source: in a path the user gave, else in the workflow's folder."""
    local = Path(source).expanduser()
    if not any(is_under(local, path) for path in given):
        local = _workflow_path(workflow, source, "the stage-in source")
    if check_local and not local.exists():
        raise _Refused(f"stage-in source {source} does not exist on this machine")
    return check_uploadable(local, protected)


def application_source(workflow: Workflow, application: str,
                       protected: Sequence[Path] = ()) -> tuple[str, str, str]:
    """Where the step's application comes from: (kind, path to upload, path inside it).

    What may be uploaded is what ``workflows.local_application`` allows (an imported
    workflow's own folder; any file of the user's for a spec they wrote), never
    anything protected; an absolute path that is not here is a path on the site.
    """
    found = local_application(workflow, application)
    folder = workflow.source.get("folder")
    try:
        if found is not None and folder:
            return ("local", str(check_uploadable(Path(folder), protected)),
                    found.relative_to(Path(folder).resolve()).as_posix())
        if found is not None:
            return "local", str(check_uploadable(found, protected)), ""
    except _Refused as exc:
        raise ValidationError(f"the application of workflow {workflow.name!r}: {exc}",
                              application=str(exc)) from None
    if Path(application).is_absolute():
        return "cluster", application, ""  # e.g. a TOSCA registry naming a path on the site
    raise ValidationError(f"the application {application!r} of workflow {workflow.name!r} "
                          "is not on this machine", application=application)
