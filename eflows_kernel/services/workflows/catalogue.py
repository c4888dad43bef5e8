"""The centre's published workflow catalogue, next to each user's own workflows.

HPCWaaS separates the *workflow developers*, who publish workflows, from the *end
users*, who trigger them. Here an operator points every user's server at folders in
the eFlows4HPC workflow-registry layout (a plain folder, or a git checkout the centre
keeps up to date) and grants each workflow to hub users and groups
(:mod:`~eflows_kernel.services.workflows.access`). Each server reads them at start:
users list them beside their own, read-only, and trigger those they are granted.

A workflow a caller is not granted does not exist for that caller: every lookup
answers 404, exactly as for an unknown id, so names and ids of other users'
workflows never leak. A published workflow's id (``published-<hash of name and
version>``) is the same on every user's server and across restarts. Triggering one
pins a copy in the user's own database (``WorkflowRegistry.pin``), so the run's
record refers to what ran, as it does for the user's own workflows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import create_engine, make_url, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from eflows_kernel.services.errors import ConflictError, NotFoundError, ServiceError
from eflows_kernel.services.state import Page, check_page
from eflows_kernel.services.state.tables import WorkflowRow
from eflows_kernel.services.workflows.access import AccessPolicy, Caller
from eflows_kernel.services.workflows.errors import WorkflowImportError
from eflows_kernel.services.workflows.model import Workflow
from eflows_kernel.services.workflows.registry import (
    ImportReport,
    NameCheck,
    RegisteredWorkflow,
    WorkflowRegistry,
    _model,
    _version_key,
)
from eflows_kernel.services.workflows.tosca import import_registry_folder

PUBLISHED_ID_PREFIX = "published-"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class WorkflowReadOnly(ServiceError):
    """A published workflow: only the centre's operator changes or removes it (403)."""

    status = 403


class CatalogueError(ServiceError):
    """The operator's catalogue cannot be read; the server refuses to start with it."""


def published_id(name: str, version: str) -> str:
    digest = hashlib.sha256(f"{name}\0{version}".encode()).hexdigest()[:24]
    return PUBLISHED_ID_PREFIX + digest


def load_catalogue(paths: Sequence[str | Path],
                   database_url: str | None = None) -> list[RegisteredWorkflow]:
    """Every workflow of the operator's registry folders (and shared database), with
    stable ids.

    A folder that cannot be read, or two workflows with one name and version, stop the
    server's start naming the folder: a catalogue half read would show users less than
    the operator published without saying so.
    """
    found: dict[str, RegisteredWorkflow] = {}
    for path in paths:
        try:
            workflows = import_registry_folder(path)
        except WorkflowImportError as exc:
            raise CatalogueError(f"published catalogue {path}: {exc}") from None
        for workflow in workflows:
            wid = published_id(workflow.name, workflow.version)
            if wid in found:
                raise CatalogueError(f"published catalogue {path}: workflow "
                                     f"{workflow.name!r} version {workflow.version!r} is "
                                     "published twice")
            found[wid] = RegisteredWorkflow(
                id=wid, name=workflow.name, version=workflow.version,
                description=workflow.description, created_at=_stamp(path),
                workflow=workflow, published=True)
    for workflow in load_catalogue_database(database_url) if database_url else []:
        if workflow.id in found:
            raise CatalogueError(f"published catalogue database: workflow {workflow.name!r} "
                                 f"version {workflow.version!r} is in a folder too")
        found[workflow.id] = workflow
    return sorted(found.values(), key=lambda w: (w.name, _version_key(w.version)))


def load_catalogue_database(url: str) -> list[RegisteredWorkflow]:
    """The workflows registered in a shared database (a workflow developers' registry:
    this project's state schema, e.g. PostgreSQL, or SQLite opened read-only), with the
    same stable ids as a folder's. Only read: no schema is created or migrated there,
    and users' servers need no more than the right to read it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        file = Path(parsed.database)
        if not file.is_file():
            raise CatalogueError(f"published catalogue database {file}: no such file")
        parsed = parsed.set(database=f"file:{file}", query={"mode": "ro", "uri": "true"})
    try:
        engine = create_engine(parsed)
        try:
            with Session(engine) as session:
                rows = list(session.scalars(select(WorkflowRow)))
                workflows = [_model(row) for row in rows]
        finally:
            engine.dispose()
    except (SQLAlchemyError, PydanticValidationError) as exc:
        raise CatalogueError(f"published catalogue database "
                             f"{parsed.render_as_string()}: cannot be read "
                             f"({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    found: dict[str, RegisteredWorkflow] = {}
    for workflow in workflows:
        wid = published_id(workflow.name, workflow.version)
        found[wid] = workflow.model_copy(update={"id": wid, "published": True})
    return list(found.values())


def _stamp(path: str | Path) -> datetime:
    try:
        return datetime.fromtimestamp(Path(path).stat().st_mtime, timezone.utc)
    except OSError:
        return _EPOCH


class WorkflowCatalogue:
    """The user's own workflows and the published ones the caller may see, as one.

    Own workflows are the server owner's; published ones are filtered per caller by the
    operator's :class:`AccessPolicy`.
    """

    def __init__(self, registry: WorkflowRegistry,
                 published: Iterable[RegisteredWorkflow] = (),
                 policy: AccessPolicy | None = None) -> None:
        self.registry = registry
        self.published = {w.id: w for w in published}
        self.policy = policy or AccessPolicy()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.published)} published, {self.registry!r})"

    # ---- who sees what -----------------------------------------------------------------

    def visible(self, caller: Caller) -> list[RegisteredWorkflow]:
        """The published workflows ``caller`` may see and trigger."""
        return [w for w in self.published.values() if self.policy.allows(caller, w.name)]

    def unused_grants(self) -> list[str]:
        """The operator's patterns that match no published workflow (a typo, most often:
        the workflow they meant stays open to every user)."""
        names = [w.name for w in self.published.values()]
        return [pattern for pattern in self.policy.patterns()
                if not any(self.policy.matches(pattern, name) for name in names)]

    def is_published(self, workflow_id: str) -> bool:
        return isinstance(workflow_id, str) and workflow_id.startswith(PUBLISHED_ID_PREFIX)

    def _published(self, workflow_id: str, caller: Caller) -> RegisteredWorkflow:
        workflow = self.published.get(workflow_id)
        if workflow is None or not self.policy.allows(caller, workflow.name):
            raise NotFoundError(f"no workflow with id {workflow_id!r}", id=workflow_id)
        return workflow

    # ---- reading -----------------------------------------------------------------------

    def get(self, workflow_id: str, caller: Caller) -> RegisteredWorkflow:
        """An own workflow, or a published one (``published``); 404 for one not granted."""
        if self.is_published(workflow_id):
            return self._published(workflow_id, caller)
        return self.registry.get(workflow_id)

    def resolve(self, id_or_name: str, caller: Caller) -> RegisteredWorkflow:
        """By id, else by name (own first, then the highest published version)."""
        try:
            return self.get(id_or_name, caller)
        except NotFoundError:
            pass
        try:
            own = self.registry.get_by_name(id_or_name)
            if not self.is_published(own.id):
                return own
        except NotFoundError:
            pass
        named = [w for w in self.visible(caller) if w.name == id_or_name]
        if named:
            return max(named, key=lambda w: _version_key(w.version))
        raise NotFoundError(f"no workflow with id or name {id_or_name!r}", id=id_or_name)

    def list(self, caller: Caller, name: str | None = None, limit: int = 50,
             offset: int = 0) -> Page[dict[str, Any]]:
        """Published (granted) first, then the user's own; each marked ``published``."""
        check_page(limit, offset)
        shared = [w.summary() for w in self.visible(caller)
                  if name is None or w.name == name]
        own_offset = max(0, offset - len(shared))
        own_limit = max(0, limit - max(0, len(shared) - offset))
        own = self.registry.list(name=name, limit=max(own_limit, 1), offset=own_offset,
                                 exclude_prefix=PUBLISHED_ID_PREFIX)
        items = shared[offset:offset + limit] + \
            [w.summary() for w in own.items][:own_limit]
        return Page[dict[str, Any]](items=items, total=len(shared) + own.total, limit=limit,
                                    offset=offset)

    def list_all(self, caller: Caller) -> list[dict[str, Any]]:
        """Every workflow ``caller`` may trigger (HPCWaaS ``GET /workflows``)."""
        items: list[dict[str, Any]] = []
        while True:
            page = self.list(caller, limit=1000, offset=len(items))
            items += page.items
            if not page.items or len(items) >= page.total:
                return items

    # ---- running -----------------------------------------------------------------------

    def runnable(self, workflow_id: str, caller: Caller) -> str:
        """The id to hand the executions service: a granted published workflow is
        pinned into the user's database first; one not granted is 404."""
        if not self.is_published(workflow_id):
            return workflow_id
        return self.registry.pin(self._published(workflow_id, caller)).id

    # ---- changing ----------------------------------------------------------------------

    def check_name(self, caller: Caller) -> NameCheck:
        """A ``NameCheck`` refusing (409) an own workflow named as a published one the
        caller sees (names are one space, as HPCWaaS scripts trigger by name)."""
        names = {w.name for w in self.visible(caller)}

        def check(workflow: Workflow) -> None:
            if workflow.name in names:
                raise ConflictError(f"a workflow named {workflow.name!r} is published in the "
                                    "centre's catalogue (read-only); register yours under "
                                    "another name", name=workflow.name)

        return check

    def register_spec(self, spec: Mapping[str, Any], caller: Caller) -> RegisteredWorkflow:
        return self.registry.register_spec(spec, check=self.check_name(caller))

    def import_registry_folder(self, path: str | Path, caller: Caller) -> ImportReport:
        return self.registry.import_registry_folder(path, check=self.check_name(caller))

    def delete(self, workflow_id: str, caller: Caller) -> None:
        """Forget an own workflow; a published one is 403 (404 when not granted)."""
        if self.is_published(workflow_id):
            workflow = self._published(workflow_id, caller)
            raise WorkflowReadOnly(f"workflow {workflow.name!r} is published in the centre's "
                                   "catalogue: only the operator can change or remove it",
                                   id=workflow_id)
        self.registry.delete(workflow_id)


__all__ = ["PUBLISHED_ID_PREFIX", "CatalogueError", "WorkflowCatalogue", "WorkflowReadOnly",
           "load_catalogue", "load_catalogue_database", "published_id"]
