"""Scale-out on Slurm: a run's workers as Slurm jobs of their own (dask-jobqueue).

The scheduler runs in this process and every worker is a Slurm job running this same
Python; the run starts only once enough of them have connected, failures are reported
with Slurm's own words, and the jobs are cancelled when the engine stops.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

from dask.utils import parse_bytes
from distributed import Client
from distributed.diagnostics.plugin import WorkerPlugin

from eflows_kernel.model.exceptions import EngineError

if TYPE_CHECKING:
    from eflows_kernel.engine.cluster import ClusterConfig

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


def start_jobqueue_cluster(config: ClusterConfig, setup: WorkerPlugin) -> tuple[Client, Any]:
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
        client.register_plugin(setup)
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
