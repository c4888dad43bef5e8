"""Pytest plugin: one real Dask scheduler with two workers that runner tests may share.

``eflows-run --workers 2`` spends most of a short run starting and closing its own
LocalCluster (two worker processes importing Dask, then their shutdown): 5-8 s per test on
the 2-core CI machine. A test marked ``@pytest.mark.shared_workers`` gets its ``run_app``
calls pointed at this session's cluster with ``--scheduler ADDRESS`` (the runner's own
"join an existing scheduler" path), still the real runner and real Dask workers. The
cluster is built like the runner's own for ``--workers 2``: one thread per worker,
``memory_limit="auto"``, and the same ``CPU``/``MEMORY`` resources.

Only tests about what an application computes are marked. Tests about worker lifetime,
cancellation, crashes, wall-clock limits, resources (``compss_request_resources`` grows
the runner's own cluster only), process tables or multi-node runs keep their own workers,
and so does any call that shapes the cluster (``workers=`` other than 2,
``--threads-per-worker``, ``--worker-resources``...) or that runs with an environment
other than the one the workers started with (``runcompss`` options and monkeypatched
variables reach a runner's own workers only).

Clean state per test: before a run the workers move into the test's ``tmp_path`` (a
runner's own workers inherit its working directory); after it they forget the modules the
run imported from outside the installation (application helpers of the same name in two
tests must not meet), and get back their ``sys.path``, working directory and environment.
Workers still busy, gone or replaced after a run are restarted before the next test.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Options by which a test shapes the runner's own cluster: such a call keeps its workers.
CLUSTER_OPTIONS = ("--workers", "-w", "--threads-per-worker", "--memory-limit",
                   "--scheduler", "--worker-resources", "--slurm", "--no-pycompss-shim")
_IGNORED_ENV = {"PYTEST_CURRENT_TEST"}
_KEPT_PREFIXES = ("eflows_kernel", "pycompss", "distributed", "dask", "tornado")


def _snapshot() -> dict[str, Any]:
    return {"modules": set(sys.modules), "path": list(sys.path), "cwd": os.getcwd(),
            "env": dict(os.environ)}


def _enter(directory: str) -> None:
    os.chdir(directory)


def _restore(state: dict[str, Any]) -> list[str]:
    """Runs on each worker after a run: what the run left goes; returns what was dropped."""
    installed = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix})
    dropped = []
    for name in list(sys.modules):
        if name in state["modules"] or name.split(".")[0] in _KEPT_PREFIXES:
            continue
        path = getattr(sys.modules[name], "__file__", None) or ""
        if path and path.startswith(installed):
            continue
        del sys.modules[name]
        dropped.append(name)
    sys.path[:] = state["path"]
    os.chdir(state["cwd"])
    for key in set(os.environ) - set(state["env"]):
        del os.environ[key]
    os.environ.update(state["env"])
    return dropped


def _busy(dask_scheduler: Any) -> int:
    """Tasks the scheduler still holds, or runs on a worker, once the runner is gone."""
    return len(dask_scheduler.tasks) + sum(len(ws.processing) for ws in
                                           dask_scheduler.workers.values())


class SharedWorkers:
    """The session's scheduler and workers, handed to one run at a time."""

    def __init__(self) -> None:
        from distributed import Client, LocalCluster

        from eflows_kernel.engine.cluster import _total_memory_bytes

        total = _total_memory_bytes()
        self.cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                    memory_limit="auto", dashboard_address=":0",
                                    resources={"CPU": 1, "MEMORY": round(total / 2 / 1e9, 3)
                                               if total else 1.0})
        self.client = Client(self.cluster)
        self.address: str = self.cluster.scheduler_address
        # After the start: starting workers sets Dask's own variables in this process
        # (OMP_NUM_THREADS, PYTHONHASHSEED...), as a runner's cluster does in the runner.
        self.env = {k: v for k, v in os.environ.items() if k not in _IGNORED_ENV}
        self._remember()

    def _remember(self) -> None:
        self.client.wait_for_workers(2, timeout=60)
        self.workers = set(self.client.scheduler_info(n_workers=-1)["workers"])
        self.state = self.client.run(_snapshot)

    def fits(self, workers: int, extra: tuple[str, ...]) -> bool:
        """Whether a run_app call may use these workers (see the module's docstring)."""
        if workers != 2 or any(arg.split("=")[0].startswith(CLUSTER_OPTIONS) for arg in extra):
            return False
        env = {k: v for k, v in os.environ.items() if k not in _IGNORED_ENV}
        return env == self.env

    def enter(self, directory: Path) -> None:
        self.client.run(_enter, str(directory))

    def release(self, wait: float = 10.0) -> None:
        """Clean state for the next test: restart the workers unless they are idle and the
        same as before the run."""
        deadline = time.monotonic() + wait
        while self.client.run_on_scheduler(_busy) and time.monotonic() < deadline:
            time.sleep(0.1)
        from eflows_kernel.engine.cluster import WorkerSetup

        # The run's WorkerSetup goes as with the runner's own workers (its teardown ends
        # leftover HPC programs and the reports' flusher); the next run adds its own.
        with contextlib.suppress(ValueError):  # the run ended before it registered it
            self.client.unregister_worker_plugin(WorkerSetup.name)
        same = set(self.client.scheduler_info(n_workers=-1)["workers"]) == self.workers
        if same and not self.client.run_on_scheduler(_busy):
            for worker, state in self.state.items():
                self.client.run(_restore, state, workers=[worker])
            return
        self.client.restart(wait_for_workers=False)
        self._remember()

    def close(self) -> None:
        self.client.close()
        self.cluster.close()


@pytest.fixture(scope="session")
def shared_workers() -> Iterator[SharedWorkers]:
    workers = SharedWorkers()
    yield workers
    workers.close()
