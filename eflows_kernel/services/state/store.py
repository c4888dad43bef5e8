"""Where the services keep their state: one SQLAlchemy database, SQLite by default.

The default is one file in the Jupyter data dir, shared by the Jupyter server
and kernels (several processes), so SQLite runs in WAL mode with a busy timeout
and every write transaction starts with ``BEGIN IMMEDIATE``: a writer takes the
lock up front instead of upgrading a read lock later, which is what makes two
processes fail with "database is locked". A site may give a PostgreSQL URL.

The schema is versioned (table ``schema_version``). Opening a database older
than the code applies ``MIGRATIONS`` in one transaction, after copying an SQLite
file to ``<file>.bak-v<N>``; a database newer than the code is refused without
being touched, so an upgrade (or a downgrade) never loses a user's data.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Connection, Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.state.tables import Base, SchemaVersion, utcnow

ENV_VAR = "EFLOWS_STATE_URL"
CURRENT_VERSION = 6


def _credential_metadata(conn: Connection) -> None:
    """Version 2: a credential keeps its owner's metadata (HPCWaaS ``POST /ssh_keys``)."""
    conn.execute(text("ALTER TABLE credentials ADD COLUMN meta JSON"))


def _steps_of_executions(conn: Connection) -> None:
    """Version 3: executions may be steps of a step graph (parent, step name, step sites)."""
    id_type = "VARCHAR(64)"
    for statement in (f"ALTER TABLE executions ADD COLUMN parent_id {id_type}",
                      "ALTER TABLE executions ADD COLUMN step VARCHAR(200)",
                      "ALTER TABLE executions ADD COLUMN step_sites JSON",
                      "CREATE INDEX ix_executions_parent_id ON executions (parent_id)"):
        conn.execute(text(statement))


def _add_data_logistics_tables(conn: Connection) -> None:
    """Version 4: data service credentials and periodic transfers (new tables only)."""
    for name in ("service_credentials", "transfer_schedules"):
        Base.metadata.tables[name].create(conn, checkfirst=True)


def _queue_and_resume_of_executions(conn: Connection) -> None:
    """Version 5: what the batch system last said of a run's job (state, reason, time
    limit), and the run whose checkpoints a re-run resumes from."""
    for statement in ("ALTER TABLE executions ADD COLUMN queue JSON",
                      "ALTER TABLE executions ADD COLUMN resumed_from VARCHAR(64)"):
        conn.execute(text(statement))


def _incremental_syncs(conn: Connection) -> None:
    """Version 6: the files each periodic sync sent (a new table), and what the last
    firing of a schedule sent and found up to date."""
    columns = {c["name"] for c in inspect(conn).get_columns("transfer_schedules")}
    if "last_sync" not in columns:  # made by version 4's migration from today's table
        conn.execute(text("ALTER TABLE transfer_schedules ADD COLUMN last_sync JSON"))
    Base.metadata.tables["transfer_synced_files"].create(conn, checkfirst=True)


# MIGRATIONS[n - 1] takes a database from version n to n + 1, inside the open transaction.
MIGRATIONS: list[Callable[[Connection], None]] = [_credential_metadata, _steps_of_executions,
                                                  _add_data_logistics_tables,
                                                  _queue_and_resume_of_executions,
                                                  _incremental_syncs]
BUSY_TIMEOUT_S = 30.0
MAX_PAGE = 1000

T = TypeVar("T")


class SchemaVersionError(RuntimeError):
    """The database cannot be used by this code (newer schema, or not ours)."""


class Page(BaseModel, Generic[T]):
    """One page of a listing, with the total so a client can paginate."""

    items: list[T]
    total: int
    limit: int
    offset: int


def check_page(limit: int, offset: int) -> None:
    """Refuse paging values a client got wrong instead of returning a surprising page."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be an integer from 1 to {MAX_PAGE}", limit=limit)
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise ValidationError("offset must be a non-negative integer", offset=offset)


def default_url() -> str:
    """``$EFLOWS_STATE_URL``, else ``<jupyter data dir>/eflows/state.sqlite``."""
    if os.environ.get(ENV_VAR):
        return os.environ[ENV_VAR]
    from jupyter_core.paths import jupyter_data_dir

    return f"sqlite:///{Path(jupyter_data_dir()) / 'eflows' / 'state.sqlite'}"


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite ``url`` (None for memory, URIs and other databases)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def _create_private_file(path: Path) -> None:
    """Create the database file 0600 before SQLite does (its -wal/-shm files copy the mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)


CREATING_S = 5.0  # how long a just-created empty file is taken for one being set up


def _create_new_file(path: Path) -> bool:
    """Create the database file 0600 if there is none: True if this call created it.

    Another process creating it at the same moment is given a few seconds to write its
    schema, so the file is never mistaken for an empty one left behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    except OSError as exc:
        raise SchemaVersionError(f"{path}: cannot create the state database "
                                 f"({exc.strerror})") from None
    os.close(fd)
    return True


def _peek_version(path: Path) -> int | None:
    """The version of an existing SQLite file, read-only: a refused file stays untouched.

    An empty file is refused, not taken for a new database: a state file does not become
    empty by itself (a full disk, a bad restore, a truncation), and a new database over
    it would silently drop every workflow, execution, credential and site.
    """
    if not os.access(path, os.R_OK | os.W_OK):
        raise SchemaVersionError(f"{path}: the state database cannot be read and written by "
                                 "this user; fix its owner or mode (chmod 600), or point the "
                                 "state URL elsewhere. Nothing was changed")
    info = path.stat()
    while info.st_size == 0 and time.time() - info.st_mtime < CREATING_S:
        time.sleep(0.1)  # another process just created it: its schema is on the way
        info = path.stat()
    if info.st_size == 0:
        raise SchemaVersionError(
            f"{path}: the state database is an empty file, so everything it held is gone "
            "from it; nothing was written. Restore it from a backup (or a .bak-v* copy "
            "beside it), or remove the empty file to start with a new database")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                           timeout=BUSY_TIMEOUT_S)
    try:
        has = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND "
                           "name='schema_version'").fetchone()
        if not has:
            return None
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        return None if row is None else row[0]
    except sqlite3.DatabaseError as exc:
        raise SchemaVersionError(f"{path}: not a readable SQLite database ({exc})") from None
    finally:
        conn.close()


def _too_new(version: int, where: str) -> SchemaVersionError:
    return SchemaVersionError(
        f"{where}: the state database has schema version {version}, newer than this version "
        f"of eflows understands ({CURRENT_VERSION}); it was left untouched. Upgrade eflows, "
        "or point the state URL at another database.")


def _backup(path: Path, version: int) -> Path:
    """A consistent copy of the SQLite file (backup API: safe while others use it)."""
    target = path.with_name(f"{path.name}.bak-v{version}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.bak-v{version}.{n}")
    _create_private_file(target)
    source = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    dest = sqlite3.connect(target)
    try:
        source.backup(dest)
    finally:
        dest.close()
        source.close()
    return target


class StateStore:
    """The database shared by the services: engine, sessions and schema version.

    ``session()`` gives a write transaction (``BEGIN IMMEDIATE`` on SQLite) and
    ``session(write=False)`` a read one; both commit on success and roll back on
    error. One store per process is enough: it is thread-safe.
    """

    def __init__(self, url: str | None = None, *, busy_timeout: float = BUSY_TIMEOUT_S) -> None:
        self.url = url or default_url()
        self.path = sqlite_file(self.url)
        self.backups: list[Path] = []  # files written by migrations during this open
        if self.path is not None and not _create_new_file(self.path):
            found = _peek_version(self.path)
            if found is not None and found > CURRENT_VERSION:
                raise _too_new(found, str(self.path))
        self.engine = self._make_engine(busy_timeout)
        self._write_engine = (self.engine.execution_options(sqlite_begin="IMMEDIATE")
                              if self.is_sqlite else self.engine)
        self._readers = sessionmaker(self.engine, expire_on_commit=False)
        self._writers = sessionmaker(self._write_engine, expire_on_commit=False)
        try:
            self._open_schema()
        except BaseException:
            self.engine.dispose()
            raise

    def __repr__(self) -> str:
        return f"{type(self).__name__}({make_url(self.url).render_as_string()!r})"

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def _make_engine(self, busy_timeout: float) -> Engine:
        parsed = make_url(self.url)
        if parsed.get_backend_name() != "sqlite":
            return create_engine(self.url, pool_pre_ping=True)
        options: dict[str, Any] = {"connect_args": {"timeout": busy_timeout,
                                                    "check_same_thread": False}}
        if self.path is None:  # in-memory: one shared connection, for tests
            options["poolclass"] = StaticPool
        engine = create_engine(self.url, **options)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # the driver must not BEGIN on its own
            cursor = dbapi_conn.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            if self.path is not None:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine

    # ---- sessions ----------------------------------------------------------------------

    @contextmanager
    def session(self, write: bool = True) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        factory = self._writers if write else self._readers
        with factory() as session, session.begin():
            yield session

    @contextmanager
    def _schema_connection(self) -> Iterator[Connection]:
        with self._write_engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":  # serialise concurrent first opens
                conn.execute(text("SELECT pg_advisory_xact_lock(4242017)"))
            yield conn

    # ---- schema ------------------------------------------------------------------------

    def version(self) -> int | None:
        """The schema version stored in the database (None if it has none)."""
        with self.engine.connect() as conn:
            return self._read_version(conn)

    @staticmethod
    def _read_version(conn: Connection) -> int | None:
        if not inspect(conn).has_table(SchemaVersion.__tablename__):
            return None
        return conn.execute(select(SchemaVersion.version)
                            .order_by(SchemaVersion.version.desc())).scalar()

    def _open_schema(self) -> None:
        if len(MIGRATIONS) != CURRENT_VERSION - 1:
            raise SchemaVersionError(f"{len(MIGRATIONS)} migrations for schema version "
                                     f"{CURRENT_VERSION}: the code is inconsistent")
        found = self.version()
        if found is not None and found > CURRENT_VERSION:
            raise _too_new(found, repr(self))
        if found is not None and found < CURRENT_VERSION and self.path is not None:
            self.backups.append(_backup(self.path, found))
        with self._schema_connection() as conn:
            found = self._read_version(conn)  # again: another process may have moved it
            if found is None:
                ours = [t for t in Base.metadata.tables if inspect(conn).has_table(t)]
                if ours:
                    raise SchemaVersionError(
                        f"{self!r} has tables {ours} but no schema version: not created by "
                        "eflows (or damaged); refusing to guess")
                Base.metadata.create_all(conn)
                conn.execute(SchemaVersion.__table__.insert().values(
                    id=1, version=CURRENT_VERSION, updated_at=utcnow()))
                return
            if found > CURRENT_VERSION:
                raise _too_new(found, repr(self))
            for version in range(found, CURRENT_VERSION):
                MIGRATIONS[version - 1](conn)
            if found != CURRENT_VERSION:
                conn.execute(SchemaVersion.__table__.update().values(
                    version=CURRENT_VERSION, updated_at=utcnow()))

    def close(self) -> None:
        """Release the connections (the file stays; reopen with a new store)."""
        self.engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
