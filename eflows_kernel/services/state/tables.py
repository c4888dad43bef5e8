"""The database tables of the services, as SQLAlchemy 2.x ORM models.

These describe the *current* schema: a fresh database is created from them and
stamped ``CURRENT_VERSION`` (see ``store.py``). An existing database only ever
changes through a migration, so a change here needs a migration there too.
Columns use portable types (JSON, LargeBinary, timezone-normalised datetimes)
so a site can move from the default SQLite file to PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID_LENGTH = 64
NAME_LENGTH = 200


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    SQLite has no time zone type and drops ``tzinfo``; storing naive UTC and
    restoring the zone on the way out keeps values comparable and ordered.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the state store; use an aware one (UTC)")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType}  # noqa: RUF012


class SchemaVersion(Base):
    """One row: the schema version of this database (see ``store.MIGRATIONS``)."""

    __tablename__ = "schema_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkflowRow(Base):
    """A registered workflow; ``spec`` is ``Workflow.model_dump(mode="json")``."""

    __tablename__ = "workflows"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_workflows_name_version"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), index=True)
    version: Mapped[str] = mapped_column(String(NAME_LENGTH))
    description: Mapped[str] = mapped_column(Text, default="")
    spec: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CredentialRow(Base):
    """A vault record (``CredentialRecord``): public facts and the AES-GCM ciphertext only."""

    __tablename__ = "credentials"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    kind: Mapped[str] = mapped_column(String(32))
    public_key: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(128))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(index=True)
    certificate: Mapped[str | None] = mapped_column(Text, nullable=True)
    key_id: Mapped[str] = mapped_column(String(64), default="")
    nonce: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    format: Mapped[int] = mapped_column(Integer)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)  # schema 2


class SiteRow(Base):
    """An HPC site (infrastructure): its configuration and the SSH host key once known."""

    __tablename__ = "sites"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)
    host_key: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExecutionRow(Base):
    """One execution of a workflow, kept after it ends (history, outputs, event log).

    ``site`` and ``credential_id`` are plain strings, not foreign keys: deleting a
    site or revoking a key must not erase the record of what ran with it.
    Deleting a workflow that has executions is refused (``RESTRICT``) for the same reason.
    """

    __tablename__ = "executions"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("workflows.id", ondelete="RESTRICT"), index=True)
    site: Mapped[str] = mapped_column(String(NAME_LENGTH), index=True)
    credential_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    login: Mapped[str | None] = mapped_column(String(NAME_LENGTH), nullable=True)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONType)
    state: Mapped[str] = mapped_column(String(32), index=True)
    state_history: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSONType)
    remote_job_id: Mapped[str | None] = mapped_column(String(NAME_LENGTH), nullable=True)
    event_log: Mapped[str | None] = mapped_column(Text, nullable=True)
    event_seq: Mapped[int] = mapped_column(Integer, default=0)  # last event seq seen
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A step of a step graph is an execution of its own (state, job id, events, logs)
    # whose parent is the graph's execution; a graph's execution records its steps' sites.
    parent_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True,
                                                  index=True)
    step: Mapped[str | None] = mapped_column(String(NAME_LENGTH), nullable=True)
    step_sites: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    # Schema 5: Slurm's word on the job (state, pending reason, time limit), written when
    # it changes; and the earlier run whose checkpoints this one resumed from.
    queue: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    resumed_from: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)


class ServiceCredentialRow(Base):
    """A data service's login (WebDAV, S3, B2SHARE): public facts, the secret as ciphertext."""

    __tablename__ = "service_credentials"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    kind: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(Text)  # the service it is for (matched by prefix)
    username: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    options: Mapped[dict[str, Any]] = mapped_column(JSONType)  # region, endpoint...
    created_at: Mapped[datetime] = mapped_column(index=True)
    key_id: Mapped[str] = mapped_column(String(64), default="")
    nonce: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary, default=b"")


class TransferScheduleRow(Base):
    """A data movement repeated on a period, during a run or on its own, with its last run."""

    __tablename__ = "transfer_schedules"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    spec: Mapped[dict[str, Any]] = mapped_column(JSONType)  # source, target, site...
    every_s: Mapped[int] = mapped_column(Integer)
    execution_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True,
                                                     index=True)  # None: independent of runs
    paused: Mapped[int] = mapped_column(Integer, default=0)
    next_run: Mapped[datetime] = mapped_column(index=True)
    last_run: Mapped[datetime | None] = mapped_column(nullable=True)
    last_state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What the last firing that ended did: files sent, already up to date, left (changed
    # while sent), gone from the source (schema 6).
    last_sync: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)


class SyncedFileRow(Base):
    """One file a periodic sync sent, as the source listed it then (schema 6): a later
    firing sends it again only once it lists otherwise. Gone with its schedule."""

    __tablename__ = "transfer_synced_files"

    schedule_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("transfer_schedules.id", ondelete="CASCADE"),
        primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the path
    path: Mapped[str] = mapped_column(Text)  # below the synced folder
    size: Mapped[int] = mapped_column(BigInteger)
    mtime: Mapped[str] = mapped_column(String(40))  # as the site's find prints it
    sha256: Mapped[str] = mapped_column(String(64))  # what was sent, checked
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)
