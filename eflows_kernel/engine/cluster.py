"""Starting or joining the Dask cluster a run uses, and what its workers offer.

Local by default: one worker process per core (real parallelism for Python task
bodies), each declaring ``CPU`` and ``MEMORY`` resources so ``@constraint`` has
something to hold on to. Or an existing scheduler (a site's Dask cluster), whose
workers declare the same resources. Or scale-out on Slurm: every worker a Slurm job
(``jobqueue.py``), or one worker per node of the Slurm job the run is in
(``allocation.py``).
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

from eflows_kernel.engine.allocation import start_allocation_cluster
from eflows_kernel.engine.jobqueue import start_jobqueue_cluster
from eflows_kernel.engine.worker import REPORTS
from eflows_kernel.model.exceptions import EngineError


@dataclass
class ClusterConfig:
    """How to get workers.

    ``scheduler_address`` wins over everything else; then ``jobqueue`` (workers as
    batch jobs); otherwise a local cluster.
    """

    scheduler_address: str | None = None
    n_workers: int | None = None  # default: one per core
    threads_per_worker: int = 1
    memory_limit: str | float | None = "auto"
    extra_paths: list[str] = field(default_factory=list)  # importable on every worker
    pycompss_shim: bool = True
    # Scale-out: "slurm" places the workers as Slurm jobs (needs dask-jobqueue).
    jobqueue: str | None = None
    jobqueue_workers: int = 1  # worker jobs submitted
    # SLURMCluster's job options (cores, memory, walltime, queue/partition, account,
    # job_extra_directives, local_directory, log_directory, python, host, interface...),
    # over JOBQUEUE_DEFAULTS.
    jobqueue_options: dict[str, Any] = field(default_factory=dict)
    min_workers: int | None = None  # connected before the run starts; default: all
    jobqueue_wait: float = 300.0  # seconds for min_workers to connect
    # More resources every worker declares, e.g. {"GPU": 1} for
    # @constraint(processors=[{"processorType": "GPU", "computingUnits": 1}]).
    worker_resources: dict[str, float] = field(default_factory=dict)
    # Inside a Slurm job of several nodes: one worker per node of it (engine/allocation.py).
    slurm_allocation: bool = False
    # ...whose workers the job started itself (a step in a container image): the folder
    # where they find the scheduler (engine/allocation.py:start_workers).
    allocation_dir: str | None = None


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
        from eflows_kernel.engine import portable
        from eflows_kernel.engine.launch import kill_all_on_sigterm

        portable.install()  # open streams in task arguments travel by reference
        kill_all_on_sigterm()  # a worker told to stop ends its HPC tasks' programs
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
        from eflows_kernel.engine.launch import kill_all

        kill_all()  # programs of HPC tasks still running: no orphan outlives its worker
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
    # Each worker's resources (CPU = its threads when it declares none), for tasks that
    # hold several workers (MPI, @multinode), and the largest of every other resource.
    capacities: list[dict[str, float]] = field(default_factory=list)
    max_other: dict[str, float] = field(default_factory=dict)


def start_cluster(config: ClusterConfig) -> tuple[Client, Any]:
    """The client the engine submits through, and the cluster it owns (``None`` if it
    joined an existing scheduler), with every worker set up by ``WorkerSetup``."""
    setup = WorkerSetup(config.extra_paths, config.pycompss_shim)
    if config.jobqueue and not config.scheduler_address:
        return start_jobqueue_cluster(config, setup)
    if config.slurm_allocation and not config.scheduler_address:
        cluster: Any = start_allocation_cluster(config.worker_resources,
                                                config.allocation_dir)
        client = Client(cluster.scheduler)
        client.register_plugin(setup)
        return client, cluster
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
            resources={"CPU": config.threads_per_worker, "MEMORY": per_worker_gb,
                       **config.worker_resources},
        )
        client = Client(cluster)
    client.register_plugin(setup)
    return client, cluster


def worker_offer(client: Client) -> WorkerOffer:
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    max_cpu = max_mem = 0.0
    declares_cpu = declares_mem = multi = False
    capacities: list[dict[str, float]] = []
    max_other: dict[str, float] = {}
    for info in workers.values():
        resources = info.get("resources") or {}
        threads = info.get("nthreads", 1)
        capacities.append({"CPU": float(threads), **{k: float(v) for k, v in
                                                     resources.items()}})
        for name, amount in resources.items():
            if name not in ("CPU", "MEMORY"):
                max_other[name] = max(max_other.get(name, 0.0), float(amount))
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
    return WorkerOffer(max_cpu, max_mem, declares_cpu, declares_mem, multi, capacities,
                       max_other)


def _total_memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0
