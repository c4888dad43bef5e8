"""Shared fixtures: a real Dask cluster per session, a fresh engine (run) per test.

Starting a local cluster costs about a second, so tests share one and each test
gets its own engine (its own run, graph and event log) connected to it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
APPS = REPO / "tests" / "apps"

# Shared fixtures live in plugins, never in test modules: pytest-jupyter's server, the real
# test cluster (sshd + Slurm), the multi-node Slurm cluster, and a Jupyter server with the
# extension on a fresh state. Data services (WebDAV, S3, B2SHARE, HTTP) start on loopback
# when a test asks for one; so does a JupyterHub spawning servers as Slurm jobs, and the
# Dask scheduler and workers that runner tests marked ``shared_workers`` join.
pytest_plugins = ["pytest_jupyter.jupyter_server", "tests.plugins.cluster",
                  "tests.plugins.multinode_cluster", "tests.plugins.server",
                  "tests.plugins.data_services", "tests.plugins.hub",
                  "tests.plugins.shared_workers"]


@pytest.fixture(scope="session")
def pycompss_shim() -> Iterator[None]:
    from eflows_kernel.compat import install_pycompss_shim

    install_pycompss_shim()
    yield


@pytest.fixture(scope="session")
def dask_cluster(pycompss_shim: None) -> Iterator[object]:
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0", resources={"CPU": 1, "MEMORY": 2})
    yield cluster
    cluster.close()


def make_engine(address: str, tmp_path: Path, **engine_options: object) -> object:
    from eflows_kernel.engine import ClusterConfig, Engine, EngineConfig

    config = EngineConfig(cluster=ClusterConfig(scheduler_address=address,
                                                extra_paths=[str(REPO / "tests")]),
                          event_log=tmp_path / "events.jsonl", **engine_options)
    return Engine(config).start()


@pytest.fixture
def engine(dask_cluster: object, tmp_path: Path) -> Iterator[object]:
    """A started engine (current for the PyCOMPSs API), stopped after the test."""
    eng = make_engine(dask_cluster.scheduler_address, tmp_path)  # type: ignore[attr-defined]
    yield eng
    eng.stop()  # type: ignore[attr-defined]


def task_events(engine: object, task_id: int | None = None) -> list[dict]:
    """The task events of a run (optionally of one task), in order."""
    events = [e for e in engine.events.events() if e["type"] == "task"]  # type: ignore[attr-defined]
    return [e for e in events if task_id is None or e["task"] == task_id]


def states_of(engine: object, task_id: int) -> list[str]:
    return [e["state"] for e in task_events(engine, task_id)]


@pytest.fixture
def run_app(tmp_path: Path, request: pytest.FixtureRequest):
    """Run an application through the real runner in a subprocess.

    In a test marked ``shared_workers`` a call that does not shape the cluster joins the
    session's workers (tests/plugins/shared_workers.py) instead of starting its own.
    """
    import subprocess

    shared = (request.getfixturevalue("shared_workers")
              if request.node.get_closest_marker("shared_workers") else None)

    def run(app: str, *args: str, workers: int = 2, module: bool = False,
            extra: tuple[str, ...] = (), timeout: float = 180) -> subprocess.CompletedProcess:
        cmd = ([sys.executable, "-m", "eflows_kernel"] if module
               else [str(Path(sys.executable).parent / "eflows-run")])
        joins = shared is not None and shared.fits(workers, extra)
        cmd += ["--scheduler", shared.address] if joins else ["--workers", str(workers)]
        cmd += [*extra, str(APPS / app) if "/" not in app else app, *args]
        env = dict(os.environ)
        if not joins:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  env=env, cwd=tmp_path)
        shared.enter(tmp_path)
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  env=env, cwd=tmp_path)
        finally:
            shared.release()

    return run


# -- no private key material anywhere the suite leaves traces ------------------------------
# Every log record of the whole run, and every database, event log, JSON and log file the
# tests leave in their temporary directories, is scanned once the suite is over. Key files
# a test writes on purpose as *input* (to import them) are not in those formats.
_KEY_MARKERS = (b"PRIVATE KEY-----", b"BEGIN OPENSSH PRIVATE", b"PuTTY-User-Key-File")
_SCANNED_SUFFIXES = (".sqlite", ".sqlite-wal", ".db", ".json", ".jsonl", ".log", ".txt",
                     ".yaml", ".yml", ".ipynb")


class _KeyMaterialLogScan:
    """A root-logger handler remembering records that carry key material."""

    def __init__(self) -> None:
        import logging

        class Handler(logging.Handler):
            def __init__(self, hits: list[str]) -> None:
                super().__init__(level=logging.DEBUG)
                self.hits = hits

            def emit(self, record: logging.LogRecord) -> None:
                try:
                    text = record.getMessage()
                except Exception:  # a malformed record is not our concern here
                    return
                if any(marker.decode() in text for marker in _KEY_MARKERS):
                    self.hits.append(f"{record.name}: {text[:120]}")

        self.hits: list[str] = []
        self.handler = Handler(self.hits)


_LOG_SCAN = _KeyMaterialLogScan()

# Virtual environments a test builds (the binder check installs the project into one)
# hold third-party packages' own data (botocore's IAM examples carry sample keys): not
# what our code left, and not scanned.
_NOT_OURS = {"site-packages", "dist-packages", "node_modules"}


def _files_with_key_material(base: Path) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(base):
        dirs[:] = [d for d in dirs if d not in _NOT_OURS]
        for name in files:
            if not name.endswith(_SCANNED_SUFFIXES):
                continue
            path = Path(folder) / name
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if any(marker in data for marker in _KEY_MARKERS):
                found.append(str(path))
    return found


def pytest_sessionstart(session: pytest.Session) -> None:
    import logging

    logging.getLogger().addHandler(_LOG_SCAN.handler)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import logging

    logging.getLogger().removeHandler(_LOG_SCAN.handler)
    found = list(_LOG_SCAN.hits)
    factory = getattr(session.config, "_tmp_path_factory", None)
    base = factory.getbasetemp() if factory is not None else None
    if base is not None and base.exists():
        found += _files_with_key_material(base)
    if found:
        print("\nPrivate key material found where it must never be:\n  " + "\n  ".join(found))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
