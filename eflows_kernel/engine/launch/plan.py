"""From a task's shape to Dask resources: what its own Dask task holds, what else.

A task's slots (see ``model/hpc/shape.py``) are held as Dask worker resources (``CPU``
and the like), so HPC tasks and ordinary tasks share the workers' cores and never
oversubscribe them. As many slots as fit on one worker go with the task itself (its
*leader*); the others are held, while the task runs, by holder tasks on other workers
(``nodes.py``). The plan is computed when the task is called, against what the
workers declare, so a request no set of workers can meet is an error at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eflows_kernel.model.exceptions import EngineError
from eflows_kernel.model.hpc.shape import TaskShape, task_shape
from eflows_kernel.model.hpc.spec import HpcTask


@dataclass(frozen=True)
class LaunchPlan:
    shape: TaskShape
    slot_resources: dict[str, float] = field(default_factory=dict)
    leader_slots: int = 1

    @property
    def remaining_slots(self) -> int:
        return self.shape.slots - self.leader_slots

    def leader_resources(self) -> dict[str, float]:
        return {name: amount * self.leader_slots
                for name, amount in self.slot_resources.items()}


def slots_fitting(capacity: dict[str, float], slot: dict[str, float]) -> int:
    """How many slots a worker declaring ``capacity`` can hold at once."""
    fits = [int(capacity.get(name, 0.0) // amount) for name, amount in slot.items()
            if amount > 0]
    return min(fits) if fits else 1 << 30


def plan_launch(name: str, shape: TaskShape, slot_resources: dict[str, float],
                capacities: list[dict[str, float]]) -> LaunchPlan:
    """How the task's slots are held; ``capacities`` are the workers' declared
    resources (``CPU``, ``MEMORY``, ``GPU``...)."""
    fits = sorted((slots_fitting(cap, slot_resources) for cap in capacities), reverse=True)
    if not fits or fits[0] < 1:
        largest = max(capacities, key=lambda c: c.get("CPU", 0.0), default={})
        raise EngineError(
            f"task '{name}' needs {_describe(slot_resources)} on one node "
            f"({shape.slot_processes} process(es) of {shape.threads} core(s)"
            f"{' per node' if shape.slots > 1 else ''}), but the largest worker declares "
            f"{_describe(largest) or 'no resources'}; start workers with more cores "
            "(eflows-run --threads-per-worker N) or lower processes_per_node / "
            "computing_units")
    if shape.distinct_nodes:
        available = sum(1 for n in fits if n >= 1)
        leader = 1
    else:
        available = sum(fits)
        leader = min(shape.slots, fits[0])
    if available < shape.slots:
        raise EngineError(
            f"task '{name}' needs {shape.slots} {'nodes' if shape.distinct_nodes else 'slots'}"
            f" of {_describe(slot_resources)}, but the {len(capacities)} worker(s) can hold "
            f"only {available} at once; add workers or ask for fewer processes/nodes")
    return LaunchPlan(shape, dict(slot_resources), leader)


def _describe(resources: dict[str, Any]) -> str:
    return ", ".join(f"{name}={amount:g}" for name, amount in sorted(resources.items()))


def hpc_plan(name: str, spec: HpcTask, computing_units: int, memory_gb: float | None,
             others: dict[str, float], offer: Any) -> LaunchPlan:
    """The plan of one call of an HPC task against the workers of ``offer``
    (``engine.cluster.WorkerOffer``): cores per slot as ``CPU``, ``memory_size`` and
    other processors (``GPU``...) per slot too."""
    shape = task_shape(spec, computing_units, name)
    slot: dict[str, float] = {}
    if offer.declares_cpu:
        slot["CPU"] = float(shape.slot_cores)
    elif shape.cores > 1:
        raise EngineError(
            f"task '{name}' needs {shape.cores} cores ({shape.processes} process(es)), but "
            "the workers do not declare a CPU resource, so they cannot be held; start "
            "them with --resources CPU=<cores>")
    if memory_gb and offer.declares_memory:
        slot["MEMORY"] = float(memory_gb)
    slot.update(others)
    return plan_launch(name, shape, slot, offer.capacities)


def event_fields(spec: HpcTask, plan: LaunchPlan) -> dict[str, Any]:
    """What a task's first event says of its type (see docs/events.md)."""
    shape = plan.shape
    fields: dict[str, Any] = {"task_type": shape.kind.value}
    if spec.is_mpi or shape.distinct_nodes:
        fields["processes"] = shape.processes
        fields["nodes"] = shape.slots
    if spec.container is not None:
        fields["container"] = {"engine": spec.container.engine,
                               "image": spec.container.image}
    return fields
