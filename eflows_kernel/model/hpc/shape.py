"""How many processes, nodes and cores a task of each HPC type takes (PyCOMPSs' rules).

A task is a number of *slots*, each a set of cores that must sit on one node (Dask
worker): one slot for @binary and Python tasks; ``computing_nodes`` slots on distinct
nodes for @multinode; for MPI, one slot per process, or per group of
``processes_per_node`` processes. ``computing_units`` are cores per process (its
OpenMP threads); with ``scale_by_cu`` they become processes instead (one core each),
as COMPSs' MPI definition computes ``-n``.
"""

from __future__ import annotations

from dataclasses import dataclass

from eflows_kernel.model.exceptions import TaskArgumentError, TaskDefinitionError
from eflows_kernel.model.hpc.spec import HpcTask, TaskKind, resolve_int


@dataclass(frozen=True)
class TaskShape:
    kind: TaskKind
    processes: int  # processes launched (MPI ranks; 1 otherwise)
    threads: int  # cores (OpenMP threads) per process
    slots: int  # node-bound groups of cores
    slot_processes: int  # processes in each slot
    slot_cores: int
    distinct_nodes: bool  # @multinode: every slot on another node

    @property
    def cores(self) -> int:
        return self.slots * self.slot_cores

    @property
    def nodes_requested(self) -> int:
        """What the live graph shows as the task's nodes (slots of MPI, nodes of
        @multinode, 1 otherwise)."""
        return self.slots


def task_shape(spec: HpcTask | None, computing_units: int, task: str) -> TaskShape:
    """The task's shape for one call (environment variables in the spec read now)."""
    if spec is not None and spec.refused:
        raise TaskDefinitionError(f"task '{task}': {spec.refused}")
    cu = max(1, int(computing_units))
    if spec is None or spec.kind in (TaskKind.PYTHON, TaskKind.BINARY):
        kind = spec.kind if spec is not None else TaskKind.PYTHON
        return TaskShape(kind, 1, cu, 1, 1, cu, False)
    if spec.kind is TaskKind.MULTINODE:
        nodes = resolve_int(spec.computing_nodes, "computing_nodes", task)
        return TaskShape(spec.kind, 1, cu, nodes, 1, cu, True)
    processes = resolve_int(spec.processes, "processes", task)
    per_process = cu if spec.scale_by_cu else 1  # processes one "process" becomes
    threads = 1 if spec.scale_by_cu else cu
    ppn = (resolve_int(spec.processes_per_node, "processes_per_node", task)
           if spec.processes_per_node is not None else 1)
    if processes % ppn:
        raise TaskArgumentError(f"task '{task}': processes={processes} must be a multiple "
                                f"of processes_per_node={ppn}")
    return TaskShape(spec.kind, processes * per_process, threads, processes // ppn,
                     ppn * per_process, ppn * cu, False)
