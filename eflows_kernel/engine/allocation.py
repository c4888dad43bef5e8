"""A run's Dask cluster over the nodes of the Slurm allocation it runs in.

Inside a batch job of several nodes (``eflows-run --slurm-allocation``), the scheduler
runs in the runner's process on the first node and one worker per node starts with
``srun`` (one step, ``--overlap``, so the MPI steps of tasks can start beside it). Each
worker declares its node's cores (``CPU``) and memory (``MEMORY``), so ordinary tasks
and MPI tasks share them without oversubscribing, and an MPI task of more processes
than one node has spans the nodes (see ``engine/launch/nodes.py``).

A step in a container image cannot start that ``srun`` from inside the image (Slurm's
commands are the host's), so its job script starts the worker step itself, each worker
in the image on its node (``services/deploy/containers.py``), before it enters the
image with the runner (``python -m eflows_kernel.engine.allocation --start-workers DIR
-- <entry into the image>``, on the host). The workers find the scheduler through
``DIR/scheduler.json`` (the runner's ``--allocation-dir DIR``); the step's exit status
is written to ``DIR/workers.exit`` (its output to ``workers.log``), so the runner does
not wait for workers that will not come.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from typing import Any

from eflows_kernel.model.exceptions import EngineError

WORKER_WAIT = 120.0  # s for the workers of every node to connect
MODULE = "eflows_kernel.engine.allocation"
# In the folder of a worker step the job started: the scheduler's address, the step's
# exit status and its output.
SCHEDULER_FILE, STEP_EXIT, STEP_LOG = "scheduler.json", "workers.exit", "workers.log"


def in_allocation() -> bool:
    return bool(os.environ.get("SLURM_JOB_ID"))


def allocation_nodes() -> int:
    return int(os.environ.get("SLURM_JOB_NUM_NODES") or os.environ.get("SLURM_NNODES") or 1)


class AllocationCluster:
    """The in-process scheduler and the ``srun`` step holding one worker per node
    (``step`` None: the job started it, the workers end when the scheduler closes)."""

    def __init__(self, scheduler: Any, step: subprocess.Popen[bytes] | None,
                 nodes: int) -> None:
        self.scheduler = scheduler
        self.step = step
        self.nodes = nodes
        self.workers: dict[str, Any] = {}  # no per-worker jobs (see cluster.worker_jobs)

    def close(self) -> None:
        if self.step is not None and self.step.poll() is None:
            self.step.terminate()  # srun passes it to the workers of every node
            try:
                self.step.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.step.kill()
                self.step.wait()
        self.scheduler.close()


def step_words(nodes: int) -> list[str]:
    """``srun`` starting one task per node of the job, beside its other steps."""
    return ["srun", "--overlap", f"--nodes={nodes}", "--ntasks-per-node=1",
            "--kill-on-bad-exit=0"]


def resources_word(extra_resources: dict[str, float]) -> str:
    return ",".join(f"{name}={amount:g}" for name, amount in extra_resources.items())


def worker_command(scheduler_address: str, extra_resources: dict[str, float]) -> list[str]:
    """The step: one worker per node, sized by the node itself (``worker_main``)."""
    return [*step_words(allocation_nodes()), sys.executable, "-m", MODULE,
            scheduler_address, resources_word(extra_resources)]


def start_allocation_cluster(extra_resources: dict[str, float],
                             started_in: str | None = None) -> AllocationCluster:
    """The scheduler here, a worker on every node of the allocation, all connected.

    ``started_in``: the folder of the worker step the job started (a step in a
    container image); the scheduler writes its address there for them."""
    if not in_allocation():
        raise EngineError("--slurm-allocation runs the workers on the nodes of the Slurm job "
                          "it runs in, but SLURM_JOB_ID is not set (not inside sbatch/salloc)")
    from distributed import Client, LocalCluster

    from eflows_kernel.engine.jobqueue import own_address

    extra: dict[str, Any] = {}
    if started_in is not None:
        extra["scheduler_kwargs"] = {"scheduler_file": os.path.join(started_in,
                                                                    SCHEDULER_FILE)}
    scheduler = LocalCluster(n_workers=0, host=own_address(), dashboard_address=":0", **extra)
    nodes = allocation_nodes()
    step, command = None, f"started by the job, {os.path.join(started_in or '', STEP_LOG)}"
    if started_in is None:
        argv = worker_command(scheduler.scheduler_address, extra_resources)
        step, command = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE), shlex.join(argv)
    cluster = AllocationCluster(scheduler, step, nodes)
    try:
        with Client(scheduler) as client:
            deadline = time.monotonic() + WORKER_WAIT
            while len(client.scheduler_info(n_workers=-1).get("workers", {})) < nodes:
                ended = _step_ended(step, started_in)
                if ended is not None:
                    raise EngineError(f"the worker step ({command}) ended with {ended[0]}: "
                                      f"{ended[1].strip()[-2000:]}")
                if time.monotonic() > deadline:
                    raise EngineError(f"only some of the {nodes} nodes' workers connected "
                                      f"within {WORKER_WAIT:g} s ({command})")
                time.sleep(0.2)
    except BaseException:
        cluster.close()
        raise
    return cluster


def _step_ended(step: subprocess.Popen[bytes] | None,
                started_in: str | None) -> tuple[str, str] | None:
    """(exit status, its error output) of a worker step that ended, else None."""
    if step is not None:
        if step.poll() is None:
            return None
        error = (step.stderr.read() if step.stderr else b"").decode(errors="replace")
        return str(step.returncode), error
    try:
        with open(os.path.join(started_in or "", STEP_EXIT)) as handle:
            status = handle.read().strip()
    except OSError:
        return None
    try:
        with open(os.path.join(started_in or "", STEP_LOG), errors="replace") as handle:
            return status, handle.read()[-4000:]
    except OSError:
        return status, ""


def worker_main(target: str, resources: str) -> None:
    """One node's worker: all the cores and memory the allocation gives on this node.

    ``target``: the scheduler's address, or ``--scheduler-file=PATH`` (the job started
    the workers before the scheduler: they wait for the file)."""
    from distributed.cli.dask_worker import main as dask_worker

    cores = int(os.environ.get("SLURM_CPUS_ON_NODE") or os.cpu_count() or 1)
    memory_mb = os.environ.get("SLURM_MEM_PER_NODE")
    if memory_mb and memory_mb.isdigit() and int(memory_mb) > 0:
        memory_gb = int(memory_mb) / 1024
    else:
        memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    declared = f"CPU={cores},MEMORY={round(memory_gb, 3)}" + (f",{resources}"
                                                             if resources else "")
    name = os.environ.get("SLURMD_NODENAME") or os.uname().nodename
    sys.argv = ["dask-worker", target, "--nthreads", str(cores), "--nworkers", "1",
                "--resources", declared, "--name", name, "--no-dashboard"]
    dask_worker()


def start_workers(folder: str, resources: str, entry: list[str]) -> int:
    """On the job's first node, outside the image: the step of one worker per node, each
    started through ``entry`` (the words entering the image, then its Python), which
    waits for the scheduler's file in ``folder``; its exit status written there last."""
    argv = [*step_words(allocation_nodes()), *entry, "-m", MODULE,
            f"--scheduler-file={os.path.join(folder, SCHEDULER_FILE)}", resources]
    with open(os.path.join(folder, STEP_LOG), "ab") as log:
        log.write(f"eflows: the nodes' workers: {shlex.join(argv)}\n".encode())
        log.flush()
        try:
            code = subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        except OSError as exc:  # no srun here
            log.write(f"eflows: cannot start the workers' step: {exc}\n".encode())
            code = 127
    part = os.path.join(folder, STEP_EXIT + ".part")
    with open(part, "w") as handle:
        handle.write(f"{code}\n")
    os.replace(part, os.path.join(folder, STEP_EXIT))
    return code


def main(argv: list[str]) -> int:
    """``ADDRESS|--scheduler-file=PATH [RESOURCES]``: one node's worker; or
    ``--start-workers DIR [--resources R] -- ENTRY...``: the step of them all."""
    if argv[:1] == ["--start-workers"]:
        split = argv.index("--") if "--" in argv else len(argv)
        options, entry = argv[:split], argv[split + 1:]
        resources = options[options.index("--resources") + 1] \
            if "--resources" in options[:-1] else ""
        return start_workers(options[1], resources, entry)
    worker_main(argv[0], argv[1] if len(argv) > 1 else "")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
