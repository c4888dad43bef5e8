"""Starting or joining the Dask cluster a run uses, and what its workers offer.

Local by default: one worker process per core (real parallelism for Python task
bodies), each declaring ``CPU`` and ``MEMORY`` resources so ``@constraint`` has
something to hold on to. Or an existing scheduler (a site's Dask cluster, or Slurm
workers started by dask-jobqueue), whose workers declare the same resources.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from distributed import Client, LocalCluster
from distributed.diagnostics.plugin import WorkerPlugin
from tornado.ioloop import PeriodicCallback

from eflows_kernel.engine.worker import REPORTS
from eflows_kernel.model.exceptions import EngineError


@dataclass
class ClusterConfig:
    """How to get workers. ``scheduler_address`` wins over the local settings."""

    scheduler_address: str | None = None
    n_workers: int | None = None  # default: one per core
    threads_per_worker: int = 1
    memory_limit: str | float | None = "auto"
    extra_paths: list[str] = field(default_factory=list)  # importable on every worker
    pycompss_shim: bool = True


class WorkerSetup(WorkerPlugin):
    """Makes application modules and ``pycompss.*`` importable on every worker.

    Task functions defined in an application's helper modules are pickled by
    reference, so workers must be able to import those modules, and those modules
    import ``pycompss.api.*``.
    """

    name = "eflows-worker-setup"

    def __init__(self, paths: list[str], shim: bool) -> None:
        self.paths = list(paths)
        self.shim = shim

    def setup(self, worker: Any) -> None:
        for path in reversed(self.paths):
            if path not in sys.path:
                sys.path.insert(0, path)
        if self.shim:
            from eflows_kernel.compat import install_pycompss_shim

            install_pycompss_shim()
        self._worker = worker
        _quiet_reported_failures()
        if not REPORTS.active:
            self._flusher = PeriodicCallback(lambda: REPORTS.flush(worker), 20)
            self._flusher.start()
            REPORTS.active = True

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if start == "executing" and REPORTS.items:
            REPORTS.flush(self._worker)

    def teardown(self, worker: Any) -> None:
        flusher = getattr(self, "_flusher", None)
        if flusher is not None:
            flusher.stop()
            REPORTS.flush(worker)
            REPORTS.active = False


class _ReportedFailureFilter(logging.Filter):
    """Drops Dask's "Compute Failed" log of task failures our reports already carry.

    The user sees the task's own traceback once, from the engine, rather than a
    second copy that also shows the engine's frames.
    """

    MARKERS = ("TaskFailedError(", "CancelSuccessors(", "GroupException(",
               "TaskInterrupted(")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Compute Failed")
                    and any(marker in message for marker in self.MARKERS))


def _quiet_reported_failures() -> None:
    logger = logging.getLogger("distributed.worker")
    if not any(isinstance(f, _ReportedFailureFilter) for f in logger.filters):
        logger.addFilter(_ReportedFailureFilter())


@dataclass
class WorkerOffer:
    """The largest worker: what the biggest constrained task may ask for."""

    max_cpu: float
    max_memory_gb: float
    declares_cpu: bool
    declares_memory: bool
    multi_threaded: bool


def start_cluster(config: ClusterConfig) -> tuple[Client, LocalCluster | None]:
    if config.scheduler_address:
        try:
            client = Client(config.scheduler_address, timeout="20s")
        except OSError as exc:
            raise EngineError(
                f"cannot reach the Dask scheduler at {config.scheduler_address}: {exc}; "
                "check the address, or leave it out to start a local cluster") from None
        cluster = None
    else:
        n_workers = config.n_workers or max(1, (os.cpu_count() or 1)
                                            // max(1, config.threads_per_worker))
        total = _total_memory_bytes()
        per_worker_gb = round(total / n_workers / 1e9, 3) if total else 1.0
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=config.threads_per_worker,
            processes=True,
            memory_limit=config.memory_limit,
            dashboard_address=":0",
            resources={"CPU": config.threads_per_worker, "MEMORY": per_worker_gb},
        )
        client = Client(cluster)
    client.register_plugin(WorkerSetup(config.extra_paths, config.pycompss_shim))
    return client, cluster


def worker_offer(client: Client) -> WorkerOffer:
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    max_cpu = max_mem = 0.0
    declares_cpu = declares_mem = multi = False
    for info in workers.values():
        resources = info.get("resources") or {}
        threads = info.get("nthreads", 1)
        multi = multi or threads > 1
        if "CPU" in resources:
            declares_cpu = True
            max_cpu = max(max_cpu, float(resources["CPU"]))
        else:
            max_cpu = max(max_cpu, float(threads))
        if "MEMORY" in resources:
            declares_mem = True
            max_mem = max(max_mem, float(resources["MEMORY"]))
        else:
            max_mem = max(max_mem, (info.get("memory_limit") or 0) / 1e9)
    return WorkerOffer(max_cpu, max_mem, declares_cpu, declares_mem, multi)


def _total_memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0
