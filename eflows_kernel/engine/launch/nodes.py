"""Holding several nodes for one task: the leader and its holder tasks.

A task whose slots do not fit on one worker (an MPI task of more processes than a
worker has cores, a @multinode task) starts as one Dask task, the *leader*, holding
the slots of its own worker. Before its attempts start, the leader holds the other
slots with *holder* tasks pinned to chosen workers, each holding those slots'
resources and reporting its node; once all are there, the program starts on all
those nodes; when the task ends, the holders return and their cores are free again.

Two leaders each holding part of what the other waits for would wait forever, so
only one leader at a time places holders (a cluster-wide ``distributed.Lock``). A
leader that finds the lock taken gives its own cores back at once (``Reschedule``:
Dask runs it again later), so the one placing its holders only ever waits for cores
held by tasks that are running and will end. A holder whose leader's worker is gone
returns by itself.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

from eflows_kernel.engine.launch.mpi import Node
from eflows_kernel.engine.launch.plan import LaunchPlan, slots_fitting
from eflows_kernel.model.exceptions import EngineError

LOCK_NAME = "eflows-hpc-nodes"
LOCK_WAIT = 0.25  # s a leader waits for the placement lock before giving its cores back
HOLDER_PRIORITY = 1_000_000  # holders go before the ordinary tasks queued on a worker


def node_name() -> str:
    """This worker's node as the launchers name it (Slurm's node name in a job)."""
    return os.environ.get("SLURMD_NODENAME") or socket.gethostname()


@contextlib.contextmanager
def hold_nodes(wire: Any) -> Iterator[list[Node] | None]:
    """The nodes the task holds for its duration (None for an ordinary task)."""
    plan: LaunchPlan | None = getattr(wire, "hpc", None)
    if plan is None:
        yield None
        return
    shape = plan.shape
    own = Node(node_name(), plan.leader_slots * shape.slot_processes,
               plan.leader_slots * shape.slot_cores, _own_address())
    if plan.remaining_slots <= 0:
        yield [own]
        return
    from distributed import Event, Lock, Reschedule, get_client

    client = get_client()
    lock = Lock(LOCK_NAME)
    if not lock.acquire(timeout=LOCK_WAIT):
        raise Reschedule()  # another task is placing its holders: let it have our cores
    gang = uuid.uuid4().hex[:12]
    release = Event(f"{LOCK_NAME}-{gang}", client=client)
    futures: list[Any] = []
    try:
        try:
            targets = _targets(client, plan, own.worker, wire.name)
            for index, (worker, slots) in enumerate(targets):
                futures.append(client.submit(
                    hold_slots, gang, index, own.worker, slots, key=(
                        f"{wire.name}-node{index + 1}-{wire.task}-{wire.run}-{gang}"),
                    workers=[worker], allow_other_workers=False, pure=False,
                    priority=HOLDER_PRIORITY,
                    resources={k: v * slots for k, v in plan.slot_resources.items()}))
            nodes = [own, *_gather(client, gang, futures, shape)]
        finally:
            lock.release()
        yield nodes
    finally:
        # Without waiting for the answers: the task's result is not held back by them.
        with contextlib.suppress(Exception):
            client.loop.add_callback(client.scheduler.event_set, name=release.name)
        if futures:
            with contextlib.suppress(Exception):
                client.loop.add_callback(client._cancel, futures)


def _own_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return ""


def _targets(client: Any, plan: LaunchPlan, own: str, name: str) -> list[tuple[str, int]]:
    """(worker, slots) for the slots beyond the leader's: its own worker first when it
    has room, then workers whose cores are free now, then the least busy ones.

    What is free comes from the scheduler's own accounting (resources in use by the
    tasks running there), not from the workers' heartbeat metrics: those lag behind,
    and a holder sent to a worker whose cores a long task holds waits for that task."""
    workers = client.run_on_scheduler(_worker_load)
    candidates = []
    for address, load in workers.items():
        fit = slots_fitting(load["resources"], plan.slot_resources)
        free = slots_fitting(load["free"], plan.slot_resources)
        if address == own:
            fit = 0 if plan.shape.distinct_nodes else fit - plan.leader_slots
            free = min(free, fit)
        elif plan.shape.distinct_nodes:
            fit, free = min(fit, 1), min(free, 1)
        if fit > 0:
            candidates.append((address != own, -free, load["processing"], address, fit))
    candidates.sort()
    wanted = plan.remaining_slots
    targets = []
    for *_, address, fit in candidates:
        take = min(fit, wanted)
        targets.append((address, take))
        wanted -= take
        if not wanted:
            return targets
    raise EngineError(f"task '{name}': {plan.remaining_slots} more slot(s) of "
                      f"{plan.slot_resources} are needed beyond this worker, but the "
                      "workers connected now cannot hold them (a worker left?)")


def _worker_load(dask_scheduler: Any) -> dict[str, dict[str, Any]]:
    """Run on the scheduler: each worker's resources, those not in use, its task count."""
    return {address: {"resources": dict(ws.resources),
                      "free": {key: amount - ws.used_resources.get(key, 0)
                               for key, amount in ws.resources.items()},
                      "processing": len(ws.processing)}
            for address, ws in dask_scheduler.workers.items()}


def _gather(client: Any, gang: str, futures: list[Any], shape: Any) -> list[Node]:
    """The holders' nodes, as they start; waits in short steps (interruptible)."""
    from distributed import Event, Variable

    nodes: list[Node] = []
    for index, future in enumerate(futures):
        name = f"{LOCK_NAME}-{gang}-{index}"
        ready = Event(name, client=client)
        while not ready.wait(timeout=0.5):
            if future.status in ("error", "cancelled", "lost"):
                raise EngineError(f"a node holder of the task ended before the task "
                                  f"started ({future.status})")
        variable = Variable(name, client=client)
        item = variable.get()
        # The scheduler forgets both (nobody waits on them any more), in the background.
        variable.delete()
        client.loop.add_callback(client.scheduler.event_clear, name=name)
        slots = int(item["slots"])
        nodes.append(Node(item["host"], slots * shape.slot_processes,
                          slots * shape.slot_cores, item["worker"]))
    return nodes


def hold_slots(gang: str, index: int, leader: str, slots: int) -> None:
    """A holder: tell the leader where it is, then hold its cores until released."""
    from distributed import Event, Variable, get_client, get_worker

    client = get_client()
    name = f"{LOCK_NAME}-{gang}-{index}"
    Variable(name, client=client).set(
        {"host": node_name(), "worker": get_worker().address, "slots": slots})
    Event(name, client=client).set()
    release = Event(f"{LOCK_NAME}-{gang}", client=client)
    while not release.wait(timeout=1.0):
        if leader not in client.scheduler_info(n_workers=-1).get("workers", {}):
            return  # the leader's worker died: nobody will release us
