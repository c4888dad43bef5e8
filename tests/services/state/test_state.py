"""The state database: file creation, several processes, schema versions and migrations."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from eflows_kernel.services.credentials import CredentialVault, SqlCredentialRepository
from eflows_kernel.services.executions import ExecutionState, ExecutionStore
from eflows_kernel.services.sites.store import SiteStore
from eflows_kernel.services.state import SchemaVersionError, StateStore, store
from eflows_kernel.services.workflows import Workflow
from eflows_kernel.services.workflows.registry import WorkflowRegistry

PROCESSES = 3
WRITES = 100


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


def test_fresh_database_is_private_versioned_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state.sqlite"
    with StateStore(url_of(path)) as state:
        assert state.version() == store.CURRENT_VERSION == 6
        with state.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
            tables = {r[0] for r in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"schema_version", "workflows", "credentials", "sites", "executions",
                "service_credentials", "transfer_schedules"} <= tables
        for file in path.parent.iterdir():
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    with StateStore(url_of(path)) as again:  # reopening changes nothing
        assert again.version() == store.CURRENT_VERSION
        assert again.backups == []


def test_default_location_is_the_jupyter_data_dir(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(store.ENV_VAR, raising=False)
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    assert store.default_url() == f"sqlite:///{tmp_path / 'data' / 'eflows' / 'state.sqlite'}"
    with StateStore() as state:
        assert state.path == tmp_path / "data" / "eflows" / "state.sqlite"
        assert state.path.is_file()
    monkeypatch.setenv(store.ENV_VAR, url_of(tmp_path / "elsewhere.sqlite"))
    assert StateStore().path == tmp_path / "elsewhere.sqlite"


def test_in_memory_database_works_for_quick_use() -> None:
    with StateStore("sqlite://") as state:
        registered = WorkflowRegistry(state).register(Workflow(name="w"))
        assert WorkflowRegistry(state).get(registered.id).name == "w"


def test_session_rolls_back_on_error(tmp_path: Path) -> None:
    with StateStore(url_of(tmp_path / "s.sqlite")) as state:
        sites = SiteStore(state)
        with pytest.raises(RuntimeError), state.session() as session:
            session.execute(text("DELETE FROM schema_version"))
            raise RuntimeError("boom")
        assert state.version() == store.CURRENT_VERSION
        assert sites.list() == []


# ---- several processes on one file ---------------------------------------------------------

def _writer(url: str, index: int, barrier: multiprocessing.synchronize.Barrier) -> None:
    barrier.wait()  # every process opens the fresh file at once (schema creation race too)
    state = StateStore(url)
    workflow = WorkflowRegistry(state).register(Workflow(name=f"w{index}"))
    executions = ExecutionStore(state)
    for n in range(WRITES):
        execution = executions.create(workflow.id, {"n": n}, site=f"site{index}")
        if n % 2:
            executions.set_state(execution.id, ExecutionState.RUNNING, detail=f"p{index}")
    state.close()


def test_several_processes_write_to_the_same_file(tmp_path: Path) -> None:
    url = url_of(tmp_path / "shared.sqlite")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    workers = [context.Process(target=_writer, args=(url, i, barrier))
               for i in range(PROCESSES)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0] * PROCESSES  # a lock error would fail one
    with StateStore(url) as state:
        executions = ExecutionStore(state)
        page = executions.list(limit=1000)
        assert page.total == PROCESSES * WRITES
        for i in range(PROCESSES):
            mine = executions.list(site=f"site{i}", limit=1000).items
            assert sorted(e.inputs["n"] for e in mine) == list(range(WRITES))
            running = [e for e in mine if e.state == ExecutionState.RUNNING]
            assert len(running) == WRITES // 2
            assert all(e.state_history[-1].detail == f"p{i}" for e in running)
        assert WorkflowRegistry(state).list().total == PROCESSES


# ---- schema versions -----------------------------------------------------------------------

def _fill(url: str) -> dict[str, str]:
    with StateStore(url) as state:
        workflow = WorkflowRegistry(state).register(Workflow(name="kept", description="d"))
        execution = ExecutionStore(state).create(workflow.id, {"x": 1}, "hpc")
        ExecutionStore(state).set_state(execution.id, "running", "started")
        site = SiteStore(state).add("hpc", {"host": "login.example"})
        return {"workflow": workflow.id, "execution": execution.id, "site": site["id"]}


def _add_priority(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE executions ADD COLUMN priority INTEGER NOT NULL DEFAULT 5"))


def test_migration_keeps_every_row_and_backs_the_file_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.sqlite"
    ids = _fill(url_of(path))
    current = store.CURRENT_VERSION
    monkeypatch.setattr(store, "CURRENT_VERSION", current + 1)
    monkeypatch.setattr(store, "MIGRATIONS", [*store.MIGRATIONS, _add_priority])
    with StateStore(url_of(path)) as state:
        assert state.version() == current + 1
        assert state.backups == [tmp_path / f"state.sqlite.bak-v{current}"]
        execution = ExecutionStore(state).get(ids["execution"])
        assert execution.inputs == {"x": 1}
        assert [c.state for c in execution.state_history] == ["queued", "running"]
        assert WorkflowRegistry(state).get(ids["workflow"]).description == "d"
        assert SiteStore(state).get(ids["site"])["config"] == {"host": "login.example"}
        with state.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT priority FROM executions").scalar() == 5
    backup = tmp_path / f"state.sqlite.bak-v{current}"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    with sqlite3.connect(backup) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchone() == (current,)
        assert conn.execute("SELECT count(*) FROM executions").fetchone() == (1,)
    with StateStore(url_of(path)) as again:  # migrated once only
        assert again.version() == current + 1
        assert again.backups == []


def test_failed_migration_changes_nothing(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.sqlite"
    ids = _fill(url_of(path))

    def broken(conn: Connection) -> None:
        _add_priority(conn)
        raise RuntimeError("migration bug")

    current = store.CURRENT_VERSION
    monkeypatch.setattr(store, "CURRENT_VERSION", current + 1)
    monkeypatch.setattr(store, "MIGRATIONS", [*store.MIGRATIONS, broken])
    with pytest.raises(RuntimeError, match="migration bug"):
        StateStore(url_of(path))
    monkeypatch.undo()
    with StateStore(url_of(path)) as state:
        assert state.version() == current
        assert ExecutionStore(state).get(ids["execution"]).site == "hpc"
        with state.engine.connect() as conn:
            columns = [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(executions)")]
        assert "priority" not in columns


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_database_from_the_future_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    _fill(url_of(path))
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    conn.close()
    before = _digest(path)
    with pytest.raises(SchemaVersionError, match="schema version 99, newer"):
        StateStore(url_of(path))
    assert _digest(path) == before
    assert not list(tmp_path.glob("*.bak-*"))


def test_foreign_tables_without_a_version_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE workflows (id TEXT)")
    conn.close()
    with pytest.raises(SchemaVersionError, match="no schema version"):
        StateStore(url_of(path))


def test_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(SchemaVersionError, match="not a readable SQLite database"):
        StateStore(url_of(path))
    assert path.read_bytes() == b"this is not sqlite" * 100


def test_version_1_database_gains_credential_metadata(tmp_path: Path) -> None:
    """A database from before schema 2 (no credentials.meta) keeps its keys, with no notes."""
    path = tmp_path / "state.sqlite"
    with StateStore(url_of(path)) as state:
        vault = CredentialVault(SqlCredentialRepository(state), master_key=b"k" * 32)
        kept = vault.generate("old key")
    with sqlite3.connect(path) as conn:  # what version 1 wrote
        conn.execute("ALTER TABLE credentials DROP COLUMN meta")
        _drop_step_columns(conn)
        _drop_data_logistics_tables(conn)
        conn.execute("UPDATE schema_version SET version = 1")
    conn.close()
    with StateStore(url_of(path)) as state:
        assert state.version() == store.CURRENT_VERSION
        assert state.backups == [tmp_path / "state.sqlite.bak-v1"]
        vault = CredentialVault(SqlCredentialRepository(state), master_key=b"k" * 32)
        assert vault.get(kept.id).metadata == {}
        noted = vault.generate("new key", metadata={"project": "climate"})
        assert vault.get(noted.id).metadata == {"project": "climate"}
        assert vault.private_key_for_use(kept.id) is not None


def test_an_empty_database_file_is_refused_not_taken_for_a_new_one(tmp_path: Path) -> None:
    """A truncated state file once became a new, empty database: every workflow,
    execution, credential and site gone without a word, new writes accepted over it."""
    path = tmp_path / "state.sqlite"
    path.write_bytes(b"")
    os.utime(path, (0, 0))  # emptied a while ago, not being created right now
    with pytest.raises(SchemaVersionError, match=r"empty file.*nothing was written"):
        StateStore(url_of(path))
    assert path.read_bytes() == b"" and sorted(p.name for p in tmp_path.iterdir()) == \
        ["state.sqlite"]


def _drop_incremental_syncs(conn: sqlite3.Connection) -> None:
    """Back to the tables of before schema 6 (no record of what periodic syncs sent)."""
    conn.execute("DROP TABLE transfer_synced_files")
    conn.execute("ALTER TABLE transfer_schedules DROP COLUMN last_sync")


def _drop_queue_columns(conn: sqlite3.Connection) -> None:
    """Back to the executions table of before schema 5 (no queue state, no resume)."""
    _drop_incremental_syncs(conn)
    for column in ("queue", "resumed_from"):
        conn.execute(f"ALTER TABLE executions DROP COLUMN {column}")


def _drop_step_columns(conn: sqlite3.Connection) -> None:
    """Back to the executions table of before schema 3 (no step graphs)."""
    _drop_queue_columns(conn)
    conn.execute("DROP INDEX ix_executions_parent_id")
    for column in ("parent_id", "step", "step_sites"):
        conn.execute(f"ALTER TABLE executions DROP COLUMN {column}")


def _drop_data_logistics_tables(conn: sqlite3.Connection) -> None:
    """Back to the tables of before schema 4 (no data service logins, no periodic transfers)."""
    conn.execute("DROP TABLE service_credentials")
    conn.execute("DROP TABLE transfer_schedules")


def _rewind(path: Path, version: int,
            *undo: Callable[[sqlite3.Connection], None]) -> None:
    """The database file as code of schema ``version`` left it: ``undo`` the later steps."""
    with sqlite3.connect(path) as conn:
        for step in undo:
            step(conn)
        conn.execute(f"UPDATE schema_version SET version = {int(version)}")
    conn.close()


def _tables(state: StateStore) -> set[str]:
    with state.engine.connect() as conn:
        return {r[0] for r in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type='table'")}


def test_version_2_databases_gain_the_step_columns_then_the_data_tables(tmp_path: Path) -> None:
    """A database of before step graphs goes through both migrations: every execution
    kept, each one graph-less, and the data logistics tables there."""
    path = tmp_path / "state.sqlite"
    ids = _fill(url_of(path))
    _rewind(path, 2, _drop_step_columns, _drop_data_logistics_tables)
    with StateStore(url_of(path)) as state:
        assert state.version() == store.CURRENT_VERSION == 6
        assert state.backups == [tmp_path / "state.sqlite.bak-v2"]
        execution = ExecutionStore(state).get(ids["execution"])
        assert (execution.parent_id, execution.step, execution.step_sites) == (None, None, None)
        assert execution.inputs == {"x": 1}
        assert {"service_credentials", "transfer_schedules"} <= _tables(state)


def test_a_version_3_database_gains_the_data_logistics_tables(tmp_path: Path) -> None:
    path = tmp_path / "v3.sqlite"
    with StateStore(url_of(path)) as state:
        vault = CredentialVault(SqlCredentialRepository(state), master_key=b"k" * 32)
        kept = vault.generate("old key")
    # what version 3 wrote: not the two new tables
    _rewind(path, 3, _drop_queue_columns, _drop_data_logistics_tables)
    with StateStore(url_of(path)) as state:
        assert state.version() == store.CURRENT_VERSION
        assert state.backups == [tmp_path / "v3.sqlite.bak-v3"]
        tables = _tables(state)
        vault = CredentialVault(SqlCredentialRepository(state), master_key=b"k" * 32)
        assert vault.private_key_for_use(kept.id) is not None
    assert {"service_credentials", "transfer_schedules"} <= tables


def test_version_4_databases_gain_queue_and_resume_columns(tmp_path: Path) -> None:
    """A database of before queue states and resumed runs: every execution kept."""
    path = tmp_path / "state.sqlite"
    ids = _fill(url_of(path))
    _rewind(path, 4, _drop_queue_columns)
    with StateStore(url_of(path)) as state:
        assert state.version() == store.CURRENT_VERSION == 6
        assert state.backups == [tmp_path / "state.sqlite.bak-v4"]
        executions = ExecutionStore(state)
        execution = executions.get(ids["execution"])
        assert (execution.queue, execution.resumed_from) == (None, None)
        assert execution.inputs == {"x": 1} and execution.state.value == "running"
        queued = executions.set_queue(execution.id, {"state": "PENDING",
                                                     "reason": "Resources"})
        assert queued.queue == {"state": "PENDING", "reason": "Resources"}


def test_a_version_5_database_gains_the_record_of_what_syncs_sent(tmp_path: Path) -> None:
    """A schedule made before incremental syncs is kept: its first firing after the
    upgrade knows of nothing sent (so sends everything once), the next ones go on."""
    from eflows_kernel.services.transfers import ScheduleSpec, ScheduleStore
    from eflows_kernel.services.transfers.synced import Synced, SyncedFiles

    path = tmp_path / "state.sqlite"
    with StateStore(url_of(path)) as state:
        made = ScheduleStore(state).add(ScheduleSpec(
            name="sync", source="cluster:results", target=str(tmp_path / "out"),
            every="10m", site="c", credential_id="k"), None)
    _rewind(path, 5, _drop_incremental_syncs)
    with StateStore(url_of(path)) as state:
        assert state.version() == store.CURRENT_VERSION == 6
        assert state.backups == [tmp_path / "state.sqlite.bak-v5"]
        schedules, synced = ScheduleStore(state), SyncedFiles(state)
        assert schedules.get(made.id).last_sync is None
        assert synced.get(made.id) == {}
        assert synced.update(made.id, {"a.txt": Synced(3, "1.5", "ab" * 32)}, set(),
                             {"sent": 1})
        assert synced.get(made.id) == {"a.txt": Synced(3, "1.5", "ab" * 32)}
        assert schedules.get(made.id).last_sync == {"sent": 1}
