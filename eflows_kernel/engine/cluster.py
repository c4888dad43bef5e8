"""Starting or joining the Dask cluster a run uses, and what its workers offer.

Local by default: one worker process per core (real parallelism for Python task
bodies), each declaring ``CPU`` and ``MEMORY`` resources so ``@constraint`` has
something to hold on to. Or an existing scheduler (a site's Dask cluster), whose
workers declare the same resources. Or scale-out on Slurm: the scheduler runs in
this process and every worker is a Slurm job (dask-jobqueue's ``SLURMCluster``);
the run starts only once enough of them have connected, and their jobs are
cancelled when the engine stops.
"""

from __future__ import annotations

import logging
import os
import shlex
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from dask.utils import parse_bytes
from distributed import Client, LocalCluster
from distributed.diagnostics.plugin import WorkerPlugin
from tornado.ioloop import PeriodicCallback

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

        portable.install()  # open streams in task arguments travel by reference
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
    if config.jobqueue and not config.scheduler_address:
        return _start_jobqueue_cluster(config)
    if config.slurm_allocation and not config.scheduler_address:
        from eflows_kernel.engine.allocation import start_allocation_cluster

        cluster: Any = start_allocation_cluster(config.worker_resources)
        client = Client(cluster.scheduler)
        client.register_plugin(WorkerSetup(config.extra_paths, config.pycompss_shim))
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
    client.register_plugin(WorkerSetup(config.extra_paths, config.pycompss_shim))
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


# -- scale-out: workers as Slurm jobs ---------------------------------------------------

JOBQUEUE_DEFAULTS: dict[str, Any] = {
    "cores": 1,
    "processes": 1,
    "memory": "1GB",
    "walltime": "00:30:00",
    # A worker whose scheduler vanished (runner killed) ends its job instead of holding
    # the allocation until the walltime.
    "death_timeout": 60,
}
_ENDED_STATES = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
                 "BOOT_FAIL", "DEADLINE", "PREEMPTED", "REVOKED", "SPECIAL_EXIT"}


def _start_jobqueue_cluster(config: ClusterConfig) -> tuple[Client, Any]:
    """A scheduler in this process, workers as Slurm jobs, the run held until enough
    workers are connected (tasks submitted earlier would all land on the first one)."""
    if config.jobqueue != "slurm":
        raise EngineError(f"unknown job queue {config.jobqueue!r}; only 'slurm' is supported")
    if config.jobqueue_workers < 1:
        raise EngineError("scale-out on Slurm needs at least one worker job")
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:
        raise EngineError("scale-out on Slurm needs dask-jobqueue "
                          "(pip install 'dask-jobqueue>=0.8')") from None
    options = _slurm_options(config.jobqueue_options, config.worker_resources)
    processes = int(options["processes"])
    wanted = config.jobqueue_workers * processes
    min_workers = wanted if config.min_workers is None else config.min_workers
    if not 1 <= min_workers <= wanted:
        raise EngineError(f"min_workers must be between 1 and {wanted} "
                          f"({config.jobqueue_workers} jobs of {processes} workers)")
    if options.get("log_directory"):
        os.makedirs(options["log_directory"], exist_ok=True)
    cluster = SLURMCluster(**options)
    client: Client | None = None
    try:
        _check_sbatch_accepts(cluster.job_script())
        cluster.scale(jobs=config.jobqueue_workers)
        client = Client(cluster)
        # Registered on the scheduler: every worker gets it when it connects, remote
        # or not, so the Slurm workers are set up exactly as local ones.
        client.register_plugin(WorkerSetup(config.extra_paths, config.pycompss_shim))
        _wait_for_workers(client, cluster, min_workers, config.jobqueue_wait, options)
    except BaseException:
        if client is not None:
            client.close()
        cluster.close()  # cancels the worker jobs already submitted
        raise
    return client, cluster


def _slurm_options(user: dict[str, Any],
                   extra_resources: dict[str, float] | None = None) -> dict[str, Any]:
    """SLURMCluster's keyword arguments: our defaults, the user's options, and what the
    engine needs of every worker (``CPU``/``MEMORY`` resources for ``@constraint``)."""
    options = {**JOBQUEUE_DEFAULTS, **user}
    if "partition" in options:  # Slurm's word for dask-jobqueue's "queue"
        options["queue"] = options.pop("partition")
    host = options.pop("host", None)
    scheduler_options = dict(options.pop("scheduler_options", None) or {})
    scheduler_options.setdefault("dashboard_address", ":0")
    if "interface" not in options:
        # Workers on compute nodes must reach the scheduler: listen on this host's
        # address rather than dask-jobqueue's default (all interfaces, advertised as
        # whichever one it guesses).
        scheduler_options.setdefault("host", host or own_address())
    options["scheduler_options"] = scheduler_options
    options.setdefault("log_directory", os.path.abspath("eflows-worker-logs"))
    options.setdefault("python", sys.executable)
    cores, processes = int(options["cores"]), int(options["processes"])
    if cores < 1 or processes < 1 or cores % processes:
        raise EngineError(f"cores ({cores}) must be a positive multiple of processes "
                          f"({processes})")
    try:
        memory = parse_bytes(options["memory"]) if isinstance(options["memory"], str) \
            else int(options["memory"])
    except ValueError as exc:
        raise EngineError(f"invalid worker job memory {options['memory']!r}: {exc}") from None
    resources = f"CPU={cores // processes},MEMORY={round(memory / processes / 1e9, 3)}"
    for name, amount in (extra_resources or {}).items():
        resources += f",{name}={amount:g}"
    # One argument with commas: dask-jobqueue does not quote the worker command line.
    options["worker_extra_args"] = [*list(options.get("worker_extra_args") or []),
                                    "--resources", resources]
    return options


def own_address() -> str:
    """This host's address as other nodes reach it (its name resolved)."""
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def _check_sbatch_accepts(script: str) -> None:
    """Fail at once with sbatch's own message (unknown partition, too many cores...).

    dask-jobqueue submits in the background and only logs a refusal, so the run
    would wait for workers that never come.
    """
    try:
        result = subprocess.run(["sbatch", "--test-only"], input=script, capture_output=True,
                                text=True, timeout=60)
    except FileNotFoundError:
        raise EngineError("scale-out on Slurm needs sbatch on the PATH of the machine "
                          "running the engine (a login node)") from None
    except subprocess.TimeoutExpired:
        raise EngineError("sbatch --test-only did not answer within 60 s; is slurmctld "
                          "up?") from None
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip()
        raise EngineError(f"Slurm refused the worker jobs: {message}")


def worker_jobs(cluster: Any) -> dict[str, str]:
    """Worker name -> Slurm job id of a scale-out cluster (empty for any other)."""
    jobs: dict[str, str] = {}
    for name, job in dict(getattr(cluster, "workers", None) or {}).items():
        job_id = getattr(job, "job_id", None)
        if job_id:
            jobs[str(name)] = str(job_id)
    return jobs


def _job_states(job_ids: list[str]) -> dict[str, tuple[str, str]]:
    """Job id -> (state, reason) from squeue; a job squeue no longer knows is absent."""
    if not job_ids:
        return {}
    try:
        result = subprocess.run(
            ["squeue", "-h", "-t", "all", "-j", ",".join(job_ids), "-o", "%i|%T|%r"],
            capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    states = {}
    for line in result.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 3:
            states[parts[0]] = (parts[1], parts[2])
    return states


def _wait_for_workers(client: Client, cluster: Any, min_workers: int, timeout: float,
                      options: dict[str, Any]) -> None:
    """Block until ``min_workers`` are connected; fail early when the jobs that are left
    cannot bring that many, and on timeout, saying what Slurm says of each job."""
    processes = int(options["processes"])
    deadline = time.monotonic() + timeout
    next_check = 0.0
    while True:
        # A worker still in "init" is known to the scheduler but gets no task yet: the
        # run would start with every task on the workers that happened to be ready.
        workers = client.scheduler_info(n_workers=-1).get("workers", {})
        connected = sum(1 for info in workers.values() if info.get("status") == "running")
        if connected >= min_workers:
            return
        now = time.monotonic()
        if now >= next_check:
            next_check = now + 2.0
            jobs = worker_jobs(cluster)
            states = _job_states(list(jobs.values()))
            ended = [job for job in jobs.values()
                     if states.get(job, ("GONE", ""))[0] in _ENDED_STATES | {"GONE"}]
            alive = len(cluster.workers) - len(ended)
            if alive * processes < min_workers:
                raise EngineError(
                    f"the Slurm worker jobs did not start: {connected} of {min_workers} "
                    f"workers connected and {len(ended)} worker job(s) ended; "
                    + _describe_jobs(cluster, states, options))
        if now >= deadline:
            states = _job_states(list(worker_jobs(cluster).values()))
            raise EngineError(
                f"the Slurm worker jobs did not start within {timeout:g} s: {connected} of "
                f"{min_workers} workers connected; " + _describe_jobs(cluster, states, options)
                + " (wait longer, e.g. --slurm-wait, or ask for fewer workers, "
                  "--slurm-min-workers)")
        time.sleep(0.25)


def _describe_jobs(cluster: Any, states: dict[str, tuple[str, str]],
                   options: dict[str, Any]) -> str:
    parts = []
    jobs = worker_jobs(cluster)
    for name in cluster.workers:
        job_id = jobs.get(str(name))
        if job_id is None:
            parts.append(f"{name}: not submitted")
            continue
        state, reason = states.get(job_id, ("no longer in squeue", ""))
        text = f"job {job_id}: {state}" + (f" ({reason})" if reason and reason != "None"
                                           else "")
        log = _log_tail(options, job_id)
        if log and state in _ENDED_STATES | {"no longer in squeue"}:
            text += f", its log ends with: {log}"
        parts.append(text)
    return "; ".join(parts) if parts else "no worker job"


def _log_tail(options: dict[str, Any], job_id: str, lines: int = 3) -> str:
    """The last lines of a worker job's stderr (why a worker process did not start)."""
    directory = options.get("log_directory")
    name = options.get("job_name") or "dask-worker"
    if not directory:
        return ""
    path = os.path.join(directory, f"{name}-{job_id}.err")
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            tail = [ln.strip() for ln in handle.read().splitlines() if ln.strip()][-lines:]
    except OSError:
        return ""
    return " | ".join(tail) + f" [{shlex.quote(path)}]" if tail else ""
