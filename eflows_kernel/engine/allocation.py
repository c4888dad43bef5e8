"""A run's Dask cluster over the nodes of the Slurm allocation it runs in.

Inside a batch job of several nodes (``eflows-run --slurm-allocation``), the scheduler
runs in the runner's process on the first node and one worker per node starts with
``srun`` (one step, ``--overlap``, so the MPI steps of tasks can start beside it). Each
worker declares its node's cores (``CPU``) and memory (``MEMORY``), so ordinary tasks
and MPI tasks share them without oversubscribing, and an MPI task of more processes
than one node has spans the nodes (see ``engine/launch/nodes.py``).
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


def in_allocation() -> bool:
    return bool(os.environ.get("SLURM_JOB_ID"))


def allocation_nodes() -> int:
    return int(os.environ.get("SLURM_JOB_NUM_NODES") or os.environ.get("SLURM_NNODES") or 1)


class AllocationCluster:
    """The in-process scheduler and the ``srun`` step holding one worker per node."""

    def __init__(self, scheduler: Any, step: subprocess.Popen[bytes], nodes: int) -> None:
        self.scheduler = scheduler
        self.step = step
        self.nodes = nodes
        self.workers: dict[str, Any] = {}  # no per-worker jobs (see cluster.worker_jobs)

    def close(self) -> None:
        if self.step.poll() is None:
            self.step.terminate()  # srun passes it to the workers of every node
            try:
                self.step.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.step.kill()
                self.step.wait()
        self.scheduler.close()


def worker_command(scheduler_address: str, extra_resources: dict[str, float]) -> list[str]:
    """The step: one worker per node, sized by the node itself (``worker_main``)."""
    resources = ",".join(f"{name}={amount:g}" for name, amount in extra_resources.items())
    return ["srun", "--overlap", f"--nodes={allocation_nodes()}", "--ntasks-per-node=1",
            "--kill-on-bad-exit=0", sys.executable, "-m", "eflows_kernel.engine.allocation",
            scheduler_address, resources]


def start_allocation_cluster(extra_resources: dict[str, float]) -> AllocationCluster:
    """The scheduler here, a worker on every node of the allocation, all connected."""
    if not in_allocation():
        raise EngineError("--slurm-allocation runs the workers on the nodes of the Slurm job "
                          "it runs in, but SLURM_JOB_ID is not set (not inside sbatch/salloc)")
    from distributed import Client, LocalCluster

    from eflows_kernel.engine.jobqueue import own_address

    scheduler = LocalCluster(n_workers=0, host=own_address(), dashboard_address=":0")
    nodes = allocation_nodes()
    command = worker_command(scheduler.scheduler_address, extra_resources)
    step = subprocess.Popen(command, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cluster = AllocationCluster(scheduler, step, nodes)
    try:
        with Client(scheduler) as client:
            deadline = time.monotonic() + WORKER_WAIT
            while len(client.scheduler_info(n_workers=-1).get("workers", {})) < nodes:
                if step.poll() is not None:
                    error = (step.stderr.read() if step.stderr else b"").decode(errors="replace")
                    raise EngineError(f"the worker step ({shlex.join(command)}) ended with "
                                      f"{step.returncode}: {error.strip()[-2000:]}")
                if time.monotonic() > deadline:
                    raise EngineError(f"only some of the {nodes} nodes' workers connected "
                                      f"within {WORKER_WAIT:g} s ({shlex.join(command)})")
                time.sleep(0.2)
    except BaseException:
        cluster.close()
        raise
    return cluster


def worker_main(scheduler_address: str, resources: str) -> None:
    """One node's worker: all the cores and memory the allocation gives on this node."""
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
    sys.argv = ["dask-worker", scheduler_address, "--nthreads", str(cores), "--nworkers", "1",
                "--resources", declared, "--name", name, "--no-dashboard"]
    dask_worker()


if __name__ == "__main__":
    worker_main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "")
