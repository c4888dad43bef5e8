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

pytest_plugins = ["pytest_jupyter.jupyter_server"]


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
def run_app(tmp_path: Path):
    """Run an application through the real runner in a subprocess."""
    import subprocess

    def run(app: str, *args: str, workers: int = 2, module: bool = False,
            extra: tuple[str, ...] = (), timeout: float = 180) -> subprocess.CompletedProcess:
        cmd = ([sys.executable, "-m", "eflows_kernel"] if module
               else [str(Path(sys.executable).parent / "eflows-run")])
        cmd += ["--workers", str(workers), *extra, str(APPS / app) if "/" not in app else app,
                *args]
        env = dict(os.environ)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=tmp_path)

    return run
