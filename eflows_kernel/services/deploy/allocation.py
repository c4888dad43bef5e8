"""The Slurm allocation of a run, from the step and what its tasks declare.

The batch job must ask for its nodes and cores before the application runs, so they
come from the step's ``num_nodes`` and from the application's source
(``model/hpc/declared.py``: the largest MPI or @multinode task, its cores per node):
a run of one node gets that many single-threaded Dask workers (an MPI task holds the
cores it needs across them); a run of several nodes gets one worker per node
(``eflows-run --slurm-allocation``), and MPI tasks span the nodes. A scale-out run
(the step's ``slurm_workers``) is the exception: its workers are Slurm jobs of their
own, so its job holds one core for the scheduler and the application's main program.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eflows_kernel.model.hpc.declared import Requirements, declared_requirements
from eflows_kernel.services.sites import SiteConfig


@dataclass(frozen=True)
class Allocation:
    nodes: int | None  # --nodes (None: Slurm's default, one)
    cores_per_node: int | None  # --cpus-per-task (one task per node; None: one core)
    workers: int  # local Dask workers of a one-node run
    runner_options: tuple[str, ...] = ()


def allocation_for(step: Any, application: tuple[str, str, str], site: SiteConfig,
                   default_workers: int) -> Allocation:
    """``application`` is the staging source (kind, local path, path inside it); the
    site gives the scheduler, what its workers declare beside cores (GPUs...) and the
    partition, account and time limit of a scale-out run's worker jobs."""
    allocation = _allocation(step, application, site.scheduler, default_workers)
    slurm_workers = int(step.options.get("slurm_workers") or 0)
    if slurm_workers > 0 and site.scheduler == "slurm":
        return _scale_out(allocation.nodes, slurm_workers, site)
    extra: tuple[str, ...] = ()
    if site.worker_resources:
        extra = ("--worker-resources", ",".join(
            f"{name}={amount:g}" for name, amount in site.worker_resources.items()))
    return Allocation(allocation.nodes, allocation.cores_per_node, allocation.workers,
                      allocation.runner_options + extra)


def _scale_out(nodes: int | None, slurm_workers: int, site: SiteConfig) -> Allocation:
    """The run's job holds only the scheduler and the main program (one core: the worker
    jobs must find the rest free); the workers are asked of Slurm by the runner."""
    options = ["--slurm-workers", str(slurm_workers)]
    for option, value in (("--slurm-partition", site.partition),
                          ("--slurm-account", site.account),
                          ("--slurm-walltime", site.time_limit)):
        if value:
            options += [option, value]
    return Allocation(nodes, None, 1, tuple(options))


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


def exec_time_limit(time_limit: str | None, compss_options: list[str]
                    ) -> tuple[str | None, list[str], str | None]:
    """The Slurm job's time limit, the runcompss options left for the runner, and the line
    saying where the limit came from (None: nothing to say).

    The eFlows4HPC PyCOMPSs plugin has no time limit field: its job is ``enqueue_compss
    ... <extra_compss_opts>``, whose ``--exec_time=<minutes>`` is the batch job's wall
    clock (Caelestis_DT's and feature_extraction_wf's required ``exec_time`` input). So it
    sizes the step's job here too, unless the step has a ``time_limit`` of its own; it is
    not passed on to the runner, which would note it as having no effect.
    """
    limits = [o for o in compss_options if o.startswith("--exec_time=")]
    if not limits:
        return time_limit, compss_options, None
    rest = [o for o in compss_options if not o.startswith("--exec_time=")]
    minutes = limits[-1].split("=", 1)[1].strip()  # enqueue_compss: the last one wins
    if not minutes.isdigit() or int(minutes) <= 0:
        raise ValueError(f"--exec_time={minutes} of extra_compss_opts is not a number of "
                         "minutes (enqueue_compss takes --exec_time=<minutes>)")
    if time_limit:
        return time_limit, rest, (f"--exec_time={minutes} of extra_compss_opts has no "
                                  f"effect: the step's time_limit {time_limit} sizes its job")
    return minutes, rest, (f"the job's time limit is {minutes} minutes: --exec_time of "
                           "extra_compss_opts, as enqueue_compss sizes the job")
