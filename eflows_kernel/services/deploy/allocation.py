"""The Slurm allocation of a run, from the step and what its tasks declare.

The batch job must ask for its nodes and cores before the application runs, so they
come from the step's ``num_nodes`` and from the application's source
(``model/hpc/declared.py``: the largest MPI or @multinode task, its cores per node):
a run of one node gets that many single-threaded Dask workers (an MPI task holds the
cores it needs across them); a run of several nodes gets one worker per node
(``eflows-run --slurm-allocation``), and MPI tasks span the nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eflows_kernel.model.hpc.declared import Requirements, declared_requirements


@dataclass(frozen=True)
class Allocation:
    nodes: int | None  # --nodes (None: Slurm's default, one)
    cores_per_node: int  # --cpus-per-task (one task per node)
    workers: int  # local Dask workers of a one-node run
    runner_options: tuple[str, ...] = ()


def allocation_for(step: Any, application: tuple[str, str, str], scheduler: str,
                   default_workers: int,
                   worker_resources: dict[str, float] | None = None) -> Allocation:
    """``application`` is the staging source (kind, local path, path inside it);
    ``worker_resources`` what the site's workers declare beside cores (GPUs...)."""
    extra: tuple[str, ...] = ()
    if worker_resources:
        extra = ("--worker-resources",
                 ",".join(f"{name}={amount:g}" for name, amount in worker_resources.items()))
    allocation = _allocation(step, application, scheduler, default_workers)
    return Allocation(allocation.nodes, allocation.cores_per_node, allocation.workers,
                      allocation.runner_options + extra)


def _allocation(step: Any, application: tuple[str, str, str], scheduler: str,
                default_workers: int) -> Allocation:
    kind, path, _inside = application
    need = declared_requirements(Path(path)) if kind != "cluster" else Requirements()
    asked = step.num_nodes if isinstance(step.num_nodes, int) else None
    workers = max(1, int(step.options.get("workers") or default_workers))
    if scheduler != "slurm":  # the login node: one machine, whatever num_nodes says
        _, cores = need.allocation(None, min_cores=workers)
        return Allocation(None, cores, cores)
    nodes, cores = need.allocation(asked, min_cores=workers)
    if nodes == 1:  # local workers on the job's node
        return Allocation(asked, cores, cores)
    return Allocation(nodes, cores, 1, ("--slurm-allocation",))
