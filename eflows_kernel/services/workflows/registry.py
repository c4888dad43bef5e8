"""The workflow registry service: registered workflows in the state database.

Pure logic on top of the rest of this package (which turns files and specs into a
``Workflow``) and ``services.state`` (which stores it). No HTTP: the REST and
HPCWaaS routes call this and map ``NotFoundError``/``ConflictError``/
``ValidationError`` to 404/409/400.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from eflows_kernel.services.errors import ConflictError, NotFoundError, ValidationError
from eflows_kernel.services.state import Page, StateStore, check_page
from eflows_kernel.services.state.tables import ExecutionRow, WorkflowRow, utcnow
from eflows_kernel.services.workflows.errors import WorkflowImportError
from eflows_kernel.services.workflows.model import Workflow
from eflows_kernel.services.workflows.register import (
    workflow_from_folder,
    workflow_from_python_file,
    workflow_from_spec,
)
from eflows_kernel.services.workflows.tosca import import_registry_folder as _import_registry


class RegisteredWorkflow(BaseModel):
    """A workflow as stored: the id clients use, plus the full ``Workflow``."""

    id: str
    name: str
    version: str
    description: str
    created_at: datetime
    workflow: Workflow
    # In the centre's published catalogue (catalogue.py): read-only for users.
    published: bool = False

    def summary(self) -> dict[str, Any]:
        """The short JSON form for listings (HPCWaaS ``GET /workflows`` items)."""
        return {"id": self.id, "name": self.name, "version": self.version,
                "description": self.description, "created_at": self.created_at.isoformat(),
                "inputs": [i.model_dump(mode="json") for i in self.workflow.inputs],
                "published": self.published, "read_only": self.published}


class ImportReport(BaseModel):
    """What a registry-folder import did: what was registered and what was not."""

    registered: list[RegisteredWorkflow] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    # Topologies not registered because they name something this server cannot run.
    refused: list[str] = Field(default_factory=list)


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Order "1.10" after "1.9": numeric parts as numbers, the rest as text."""
    return tuple((1, int(part)) if part.isdigit() else (0, part)
                 for part in re.split(r"[^A-Za-z0-9]+", version) if part)


def _model(row: WorkflowRow) -> RegisteredWorkflow:
    return RegisteredWorkflow(id=row.id, name=row.name, version=row.version,
                              description=row.description, created_at=row.created_at,
                              workflow=Workflow.model_validate(row.spec))


def _invalid(exc: WorkflowImportError) -> ValidationError:
    return ValidationError(str(exc), path=exc.path)


# A check run before a workflow is stored: raises (e.g. ``ConflictError``) to refuse it.
NameCheck = Callable[[Workflow], None]


class WorkflowRegistry:
    """Register, find, list and delete workflows; ids are opaque tokens."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r})"

    # ---- registering -------------------------------------------------------------------

    def register(self, workflow: Workflow, version: str | None = None,
                 check: NameCheck | None = None) -> RegisteredWorkflow:
        """Store ``workflow`` (under ``version`` if given); the same name+version twice is a
        ``ConflictError``: a registered version is immutable, so executions stay reproducible.
        ``check`` may refuse it first (a name the centre's catalogue holds).
        """
        if not isinstance(workflow, Workflow):
            raise ValidationError(f"expected a Workflow, got {type(workflow).__name__}")
        if version is not None:
            if not isinstance(version, str) or not version.strip():
                raise ValidationError("version must be a non-empty string")
            workflow = workflow.model_copy(update={"version": version})
        if check is not None:
            check(workflow)
        row = WorkflowRow(id=uuid.uuid4().hex, name=workflow.name, version=workflow.version,
                          description=workflow.description,
                          spec=workflow.model_dump(mode="json"), created_at=utcnow())
        conflict = ConflictError(f"workflow {workflow.name!r} version {workflow.version!r} "
                                 "is already registered", name=workflow.name,
                                 version=workflow.version)
        try:
            with self.store.session() as session:
                existing = session.scalar(select(WorkflowRow.id).where(
                    WorkflowRow.name == workflow.name, WorkflowRow.version == workflow.version))
                if existing is not None:
                    conflict.details["id"] = existing
                    raise conflict
                session.add(row)
        except IntegrityError:  # a concurrent registration won the race
            raise conflict from None
        return _model(row)

    def register_spec(self, spec: Mapping[str, Any], version: str | None = None,
                      check: NameCheck | None = None) -> RegisteredWorkflow:
        """Register a workflow written as a dict (see ``workflow_from_spec``)."""
        try:
            workflow = workflow_from_spec(spec)
        except WorkflowImportError as exc:
            raise _invalid(exc) from None
        return self.register(workflow, version, check)

    def register_python_file(self, path: str | Path, **options: Any) -> RegisteredWorkflow:
        """Register one PyCOMPSs file (options as ``workflow_from_python_file``)."""
        try:
            workflow = workflow_from_python_file(path, **options)
        except WorkflowImportError as exc:
            raise _invalid(exc) from None
        except TypeError as exc:  # an unknown keyword: the caller's mistake
            raise ValidationError(str(exc)) from None
        return self.register(workflow)

    def register_folder(self, path: str | Path,
                        version: str | None = None) -> RegisteredWorkflow:
        """Register a folder with ``src/`` (see ``workflow_from_folder``)."""
        try:
            workflow = workflow_from_folder(path)
        except WorkflowImportError as exc:
            raise _invalid(exc) from None
        return self.register(workflow, version)

    def import_registry_folder(self, path: str | Path,
                               check: NameCheck | None = None) -> ImportReport:
        """Register every TOSCA workflow of an eFlows4HPC registry folder.

        Workflows already registered (same name and version) are skipped with a
        warning, so importing the same registry again is harmless; the import
        warnings of each workflow are reported too, and each topology refused (a
        construct this server cannot run) with its reason. A folder with nothing
        that can run is a ``ValidationError`` giving every reason.
        """
        refused: list[WorkflowImportError] = []
        try:
            workflows = _import_registry(path, refused)
        except WorkflowImportError as exc:
            raise _invalid(exc) from None
        report = ImportReport(refused=[str(exc) for exc in refused])
        for workflow in workflows:
            try:
                report.registered.append(self.register(workflow, check=check))
            except ConflictError as exc:
                report.warnings.append(f"{workflow.name} {workflow.version}: " + (
                    f"already registered (id {exc.details['id']}); skipped"
                    if exc.details.get("id") else f"{exc.message}; skipped"))
                continue
            report.warnings += [f"{workflow.name}: {w.path + ': ' if w.path else ''}{w.message}"
                                for w in workflow.warnings]
        return report

    # ---- reading -----------------------------------------------------------------------

    def list(self, name: str | None = None, limit: int = 50, offset: int = 0,
             exclude_prefix: str | None = None) -> Page[RegisteredWorkflow]:
        """Workflows by name, then oldest registration first (stable across pages).
        ``exclude_prefix``: leave out the ids starting with it (the pinned copies of
        published workflows, listed by the catalogue instead)."""
        check_page(limit, offset)
        query = select(WorkflowRow)
        if name is not None:
            query = query.where(WorkflowRow.name == name)
        if exclude_prefix:
            query = query.where(WorkflowRow.id.not_like(f"{exclude_prefix}%"))
        with self.store.session(write=False) as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(query.order_by(WorkflowRow.name, WorkflowRow.created_at,
                                                  WorkflowRow.id).limit(limit).offset(offset))
            items = [_model(row) for row in rows]
        return Page[RegisteredWorkflow](items=items, total=total, limit=limit, offset=offset)

    def get(self, workflow_id: str) -> RegisteredWorkflow:
        with self.store.session(write=False) as session:
            row = session.get(WorkflowRow, workflow_id) if isinstance(workflow_id, str) else None
            if row is None:
                raise NotFoundError(f"no workflow with id {workflow_id!r}", id=workflow_id)
            return _model(row)

    def get_by_name(self, name: str, version: str | None = None) -> RegisteredWorkflow:
        """The workflow ``name`` at ``version``; the highest version when None."""
        query = select(WorkflowRow).where(WorkflowRow.name == name)
        if version is not None:
            query = query.where(WorkflowRow.version == version)
        with self.store.session(write=False) as session:
            rows = list(session.scalars(query))
            if not rows:
                what = f"workflow {name!r}" + (f" version {version!r}" if version else "")
                raise NotFoundError(f"no {what}", name=name, version=version)
            best = max(rows, key=lambda r: (_version_key(r.version), r.created_at))
            return _model(best)

    def pin(self, workflow: RegisteredWorkflow) -> RegisteredWorkflow:
        """Keep a copy of a workflow registered elsewhere (the centre's catalogue) under
        its own id, so this database's executions can refer to it; the copy follows the
        catalogue (its spec is replaced when the catalogue's changed)."""
        spec = workflow.workflow.model_dump(mode="json")
        clash = ConflictError(f"workflow {workflow.name!r} version {workflow.version!r} of "
                              "the centre's catalogue has the name and version of one of "
                              "your own workflows; delete or rename yours to run it",
                              name=workflow.name, version=workflow.version)
        try:
            with self.store.session() as session:
                row = session.get(WorkflowRow, workflow.id)
                if row is None:
                    if session.scalar(select(WorkflowRow.id).where(
                            WorkflowRow.name == workflow.name,
                            WorkflowRow.version == workflow.version)) is not None:
                        raise clash
                    row = WorkflowRow(id=workflow.id, name=workflow.name,
                                      version=workflow.version,
                                      description=workflow.description, spec=spec,
                                      created_at=workflow.created_at)
                    session.add(row)
                elif row.spec != spec:
                    row.spec, row.description = spec, workflow.description
                return _model(row)
        except IntegrityError:  # a concurrent pin won the race: it is there now
            return self.get(workflow.id)

    # ---- deleting ----------------------------------------------------------------------

    def delete(self, workflow_id: str) -> None:
        """Forget a workflow; refused while executions refer to it (their record stays)."""
        with self.store.session() as session:
            row = session.get(WorkflowRow, workflow_id) if isinstance(workflow_id, str) else None
            if row is None:
                raise NotFoundError(f"no workflow with id {workflow_id!r}", id=workflow_id)
            used = session.scalar(select(func.count()).select_from(ExecutionRow)
                                  .where(ExecutionRow.workflow_id == workflow_id)) or 0
            if used:
                raise ConflictError(f"workflow {row.name!r} {row.version!r} has {used} "
                                    "execution(s); delete them first", id=workflow_id,
                                    executions=used)
            session.delete(row)
