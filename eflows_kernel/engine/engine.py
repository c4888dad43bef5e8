"""The engine: runs PyCOMPSs tasks on a Dask cluster and narrates them as events.

One engine is one run: it owns the cluster connection, the task graph, the data
trackers and the event stream. The PyCOMPSs API functions talk to the current
engine; widgets and the runner hold it directly.
"""

from __future__ import annotations

import atexit
import itertools
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cloudpickle

from eflows_kernel.engine import gc_policy, portable, synchronisation
from eflows_kernel.engine.batching import SubmitBatcher
from eflows_kernel.engine.calls import submit_call
from eflows_kernel.engine.checkpoint import CheckpointManager
from eflows_kernel.engine.checkpoint_policy import CheckpointConfig
from eflows_kernel.engine.cluster import ClusterConfig, WorkerOffer, start_cluster, worker_offer
from eflows_kernel.engine.current import current_engine, set_current_engine
from eflows_kernel.engine.data import FileVersions, ObjectVersions, TaskOutput
from eflows_kernel.engine.elastic import scale_workers
from eflows_kernel.engine.inner_runs import add_counts
from eflows_kernel.engine.jobqueue import worker_jobs
from eflows_kernel.engine.launch.plan import LaunchPlan, hpc_plan
from eflows_kernel.engine.state import RunGraph
from eflows_kernel.engine.submission import CallAnalyser
from eflows_kernel.engine.wall_clock import WallClock
from eflows_kernel.engine.worker import execute_task, interrupt_tasks
from eflows_kernel.events.schema import RunState
from eflows_kernel.events.stream import EventStream
from eflows_kernel.model.exceptions import EngineError
from eflows_kernel.model.hpc.dynamic import resolve_at_call
from eflows_kernel.model.hpc.processors import processor_requests
from eflows_kernel.model.task import TaskDefinition


@dataclass
class EngineConfig:
    """Settings of one run (the runner's and the kernel's options map onto these)."""

    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    run_id: str | None = None
    event_log: str | Path | None = None  # JSON-lines file of every event
    app: str | None = None
    record_args: bool = True  # short repr of arguments in the first task event
    history: int | None = 1_000_000  # events kept in memory for late subscribers
    first_seq: int = 1  # a deployment numbers its own events before the run's
    checkpoint: CheckpointConfig | None = None  # --checkpoint*: save and recover tasks


class Engine:
    def __init__(self, config: EngineConfig | None = None, **cluster_options: Any) -> None:
        self.config = config or EngineConfig(cluster=ClusterConfig(**cluster_options))
        self.run_id = self.config.run_id or uuid.uuid4().hex[:12]
        self.events = EventStream(self.run_id, self.config.event_log, self.config.history,
                                  first_seq=self.config.first_seq)
        self.graph = RunGraph(self.events)
        self.objects = ObjectVersions(self.graph.dropped, self.graph.settled)
        self.files = FileVersions(self.graph.dropped, self.graph.settled)
        self._analyser = CallAnalyser(self.objects, self.files, self._ensure_submitted,
                                      self.graph.partial)
        self.batcher = SubmitBatcher(self.graph, execute_task)
        self._ids = itertools.count(1)
        # Tasks the run holds beyond its graph's: a launcher script's inner runs
        # (inner_runs.py), each a callable giving its tasks per state for the final counts.
        self.more_counts: list[Callable[[], dict[str, int]]] = []
        self._group_stack: list[str] = []
        self._payloads: dict[str, bytes] = {}
        self._topic = f"eflows-tasks-{self.run_id}"
        self._offer: WorkerOffer | None = None
        self.client: Any = None
        self.cluster: Any = None
        self.state = RunState.STARTING.value
        self._stopped = False
        self.lost_suspects: set[int] = set()
        self.checkpoint: CheckpointManager | None = None
        self.wall_clock: WallClock | None = None
        self._gc_held = False

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> Engine:
        if current_engine() not in (None, self):
            raise EngineError("another engine is already running in this process; "
                              "stop it first (eflows_kernel.stop())")
        self.events.emit("run", state=RunState.STARTING.value, app=self.config.app)
        portable.install()
        self.client, self.cluster = start_cluster(self.config.cluster)
        self._offer = worker_offer(self.client)
        self.client.subscribe_topic(self._topic, self._on_worker_event)
        self.batcher.start(self.client)
        self.state = RunState.RUNNING.value
        info: dict[str, Any] = {
            "scheduler": self.client.scheduler.address,
            "workers": len(self.client.scheduler_info(n_workers=-1).get("workers", {})),
            "pid": os.getpid()}
        jobs = worker_jobs(self.cluster)
        if jobs:  # scale-out: which batch jobs hold the workers
            info["worker_jobs"] = jobs
        if self.config.checkpoint is not None:
            self.checkpoint = CheckpointManager(self, self.config.checkpoint).start()
            info["checkpoint"] = {"folder": self.checkpoint.folder,
                                  "committed": len(self.checkpoint.committed)}
        self.events.emit("run", state=self.state, app=self.config.app, info=info)
        self._gc_held = gc_policy.hold()
        set_current_engine(self)
        atexit.register(self.stop)
        return self

    def stop(self, state: str | None = None, error: str | None = None) -> None:
        """End the run: record its final state, release the cluster. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        if current_engine() is self:
            set_current_engine(None)
        if state is None:
            state = RunState.FAILED.value if self.graph.fatal else RunState.DONE.value
            if error is None and self.graph.fatal is not None:
                error = str(self.graph.fatal)
        self.state = state
        if self.checkpoint is not None:
            self.checkpoint.close()
        if self.wall_clock is not None:
            self.wall_clock.cancel()
        try:
            self.batcher.close()
            if self.client is not None:
                self.graph.cancel_all("the engine was stopped")
                self.apply_cancellations()
                if self.client.status == "running":
                    # Tasks cancelled before they reported running may run still.
                    self.client.run(interrupt_tasks, self.run_id, None, on_error="return")
                self.client.unsubscribe_topic(self._topic)
        finally:
            # The run's end is recorded before the cluster is released: closing Dask can
            # take seconds on a loaded machine, and a kernel that is shut down may be
            # killed meanwhile (jupyter_client waits 5 s); the log must still say "done".
            self.events.emit("run", state=state, app=self.config.app, error=error,
                             counts=add_counts(self.graph.counts(),
                                               *(more() for more in self.more_counts)))
            self.events.close()
        try:
            if self.client is not None:
                self.client.close()
            if self.cluster is not None:
                self.cluster.close()
        finally:
            if self._gc_held:
                self._gc_held = False
                gc_policy.release()

    def new_task_id(self) -> int:
        """The next task id of the run (also for tasks merged from elsewhere, which
        must not take the id of one of its own)."""
        return next(self._ids)

    def new_run(self, reason: str = "a new run was started") -> str:
        """End this run (kept: its events and log) and go on with a new one on the same
        cluster, e.g. after a task failure stopped it; returns the old run's id."""
        from eflows_kernel.engine.scope import start_new_run

        if self._stopped:
            raise EngineError(f"the engine of run {self.run_id} is stopped; start a new one")
        return start_new_run(self, reason)

    def __enter__(self) -> Engine:
        return self.start()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.barrier()
            self.stop()
        else:
            self.stop(RunState.FAILED.value, error=f"{exc_type.__name__}: {exc}")

    # -- task submission (see calls.py and batching.py) --------------------------------
    def submit(self, definition: TaskDefinition, args: tuple[Any, ...],
               kwargs: dict[str, Any]) -> Any:
        graph = self.graph
        if graph.fatal is not None:
            raise graph.fatal
        if self._stopped:
            raise EngineError(f"the engine of run {self.run_id} is stopped; start a new one")
        return submit_call(self, definition, args, kwargs)

    def flush(self) -> None:
        """Send the queued tasks to Dask now (before the main program waits)."""
        self.batcher.flush()

    def _ensure_submitted(self, output: TaskOutput) -> None:
        self.batcher.flush()

    def worker_addresses(self) -> list[str]:
        return sorted(self.client.scheduler_info(n_workers=-1).get("workers", {}))

    def _payload(self, definition: TaskDefinition) -> bytes:
        payload = self._payloads.get(definition.uid)
        if payload is None:
            payload = cloudpickle.dumps(definition)
            self._payloads[definition.uid] = payload
        return payload

    def task_resources(self, definition: TaskDefinition, computing_units: int,
                       memory_size: float | None, arguments: dict[str, Any] | None = None
                       ) -> tuple[dict[str, float] | None, LaunchPlan | None]:
        """The Dask resources of one call, and the launch plan of an HPC task (the
        nodes and cores it holds, engine/launch/plan.py); ``arguments``, the call's,
        give the sizes PyCOMPSs reads at each call (model/hpc/dynamic.py)."""
        offer = self._offer
        if offer is None:
            return None, None
        name = definition.name
        constraints = getattr(definition.options, "constraints", None) or {}
        cpus, others = processor_requests(constraints, name)
        if cpus and not {"computing_units", "computingUnits"} & set(constraints):
            computing_units = cpus  # @constraint(processors=[{"processorType": "CPU"...}])
        if any(amount > offer.max_other.get(k, 0.0) for k, amount in others.items()):
            offer = self._offer = worker_offer(self.client)  # workers may have joined
        for resource, amount in others.items():
            if amount > offer.max_other.get(resource, 0.0):
                declared = offer.max_other.get(resource)
                has = (f"no worker declares {resource}" if declared is None
                       else f"the largest worker has {resource}={declared:g}")
                raise EngineError(
                    f"task '{name}' asks for {resource}={amount:g} (@constraint "
                    f"processors), but {has}; start workers declaring it (eflows-run "
                    f"--worker-resources {resource}={amount:g}, or the site's "
                    "worker_resources)")
        spec = getattr(definition, "hpc", None)
        if spec is not None:
            spec = resolve_at_call(definition, spec, arguments or {})
            try:
                launch = hpc_plan(name, spec, computing_units, memory_size, others, offer)
            except EngineError:
                offer = self._offer = worker_offer(self.client)  # workers may have joined
                launch = hpc_plan(name, spec, computing_units, memory_size, others, offer)
            return launch.leader_resources() or None, launch
        resources = self._resources(name, computing_units, memory_size) or {}
        resources.update(others)
        return resources or None, None

    def _resources(self, name: str, computing_units: int,
                   memory_size: float | None) -> dict[str, float] | None:
        offer = self._offer
        if offer is None:
            return None
        if computing_units > offer.max_cpu or (
                memory_size and memory_size > offer.max_memory_gb):
            offer = self._offer = worker_offer(self.client)  # workers may have joined
        if computing_units > offer.max_cpu:
            raise EngineError(
                f"task '{name}' asks for computing_units={computing_units} "
                f"but the largest worker has {offer.max_cpu:g} cores; start the engine with "
                f"more threads per worker (eflows-run --threads-per-worker "
                f"{computing_units}) or workers declaring --resources "
                f"CPU={computing_units}")
        if memory_size and memory_size > offer.max_memory_gb:
            raise EngineError(
                f"task '{name}' asks for memory_size={memory_size:g} GB but "
                f"the largest worker has {offer.max_memory_gb:g} GB")
        resources: dict[str, float] = {}
        if offer.declares_cpu and (offer.multi_threaded or computing_units > 1):
            resources["CPU"] = computing_units
        elif computing_units > 1:
            raise EngineError(
                f"task '{name}' asks for computing_units={computing_units} "
                "but the workers do not declare a CPU resource, so the request cannot be "
                "enforced; start them with --resources CPU=<cores>")
        if memory_size and offer.declares_memory:
            resources["MEMORY"] = memory_size
        return resources or None

    # -- worker reports ---------------------------------------------------------------
    def _on_worker_event(self, event: tuple[float, dict[str, Any]]) -> None:
        self.graph.report(event[1])
        self.apply_cancellations()

    def apply_cancellations(self) -> None:
        """Carry out in Dask what the graph decided: cancel futures, stop running tasks.

        Works from any thread, including Dask's own event loop (no blocking call).
        """
        futures, running = self.graph.take_cancellations()
        client = self.client
        if client is None or client.status != "running":
            return
        if futures:
            client.loop.add_callback(client._cancel, futures)
        for worker, task_ids in running.items():
            client.loop.add_callback(client._run, interrupt_tasks, self.run_id, task_ids,
                                     workers=[worker], on_error="return")

    # -- groups and synchronisation (see synchronisation.py) ---------------------------
    def open_group(self, name: str) -> None:
        self._group_stack.append(name)

    def close_group(self, name: str) -> None:
        if self._group_stack and self._group_stack[-1] == name:
            self._group_stack.pop()

    def barrier(self) -> None:
        synchronisation.barrier(self)

    def barrier_group(self, name: str) -> None:
        synchronisation.barrier_group(self, name)

    def cancel_group(self, name: str) -> None:
        self.graph.cancel_group(name, f"compss_cancel_group('{name}')")
        self.apply_cancellations()

    def wait_on(self, *objs: Any) -> Any:
        return synchronisation.wait_on(self, *objs)

    # -- the rest of the model's Runtime protocol (eflows_kernel.model.runtime) ---------
    def wait_on_file(self, path: str) -> str:
        return synchronisation.wait_on_file(self, path)

    def delete_file(self, path: str) -> bool:
        return synchronisation.delete_file(self, path)

    def file_exists(self, path: str) -> bool:
        return synchronisation.file_exists(self, path)

    def forget_object(self, obj: Any) -> bool:
        return self.objects.forget(obj)

    def tracks_object(self, obj: Any) -> bool:
        return self.objects.current(obj) is not None

    def snapshot(self) -> bool:
        if self.checkpoint is None:
            return False
        self.checkpoint.snapshot()
        return True

    def set_wall_clock(self, seconds: float) -> WallClock:
        """Stop the run ``seconds`` from now (replacing an earlier limit)."""
        if self.wall_clock is not None:
            self.wall_clock.cancel()
        self.wall_clock = WallClock(self, seconds).start()
        return self.wall_clock

    def scale_workers(self, delta: int) -> bool:
        return scale_workers(self.cluster, delta)

    def number_of_resources(self) -> int:
        if self.client is None:
            return 1
        return len(self.client.scheduler_info(n_workers=-1).get("workers", {}))

    def has_group(self, name: str) -> bool:
        return name in self.graph.groups

    def cancel_all(self, reason: str) -> None:
        self.graph.cancel_all(reason)
        self.apply_cancellations()
