"""A new run on the same engine and cluster, after a fatal failure stopped the old one.

A fatal task failure stops the run: what is still to do is cancelled and every wait
raises the failure. A script ends there; a notebook must go on without a kernel
restart. :func:`start_new_run` finishes the old run (its final ``run`` event, its event
log closed and kept) and starts a new one on the same Dask cluster, with a new run
id, event stream and log.

Task ids go on counting across runs, so the old run's outputs keep their meaning in
the new one: a done task's output can be passed to new tasks and waited on, a
cancelled one's raises ``TaskCancelledError`` (the task records stay in the graph,
all finished).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from eflows_kernel.events.schema import RunState
from eflows_kernel.events.stream import EventStream

if TYPE_CHECKING:
    from eflows_kernel.engine.engine import Engine


def next_log_path(path: Path | None, old_run: str, new_run: str) -> Path | None:
    """Where the new run's events go: ``<run id>.jsonl`` next to the old run's log."""
    if path is None:
        return None
    if path.stem == old_run:
        return path.with_name(f"{new_run}{path.suffix}")
    return path.with_name(f"{path.stem}-{new_run}{path.suffix}")


def start_new_run(engine: Engine, reason: str = "a new run was started") -> str:
    """End ``engine``'s current run and start a new one; returns the old run's id.

    The old run ends ``failed`` if a task failure stopped it, ``cancelled`` if tasks
    were still to do (they are cancelled now), ``done`` otherwise.
    """
    from eflows_kernel.engine.worker import interrupt_tasks

    graph = engine.graph
    old_run, old_events = engine.run_id, engine.events
    with graph.lock:
        fatal = graph.fatal
        unfinished = graph.unfinished
        graph.cancel_all(reason)
    engine.apply_cancellations()
    client = engine.client
    if client is not None and client.status == "running":
        client.run(interrupt_tasks, old_run, None, on_error="return")
        client.unsubscribe_topic(engine._topic)

    new_run = uuid.uuid4().hex[:12]
    state = (RunState.FAILED if fatal is not None else
             RunState.CANCELLED if unfinished else RunState.DONE).value
    old_events.emit("run", state=state, app=engine.config.app,
                    error=str(fatal) if fatal is not None else None,
                    counts=graph.counts(), info={"next_run": new_run})
    old_events.close()

    events = EventStream(new_run, next_log_path(old_events.log_path, old_run, new_run),
                         engine.config.history)
    with graph.lock:
        graph.events = events
        graph.fatal = None
        graph.groups.clear()  # group names start afresh; the old records are all finished
    engine.events = events
    engine.run_id = new_run
    engine.lost_suspects.clear()
    engine._topic = f"eflows-tasks-{new_run}"
    engine.state = RunState.RUNNING.value
    info: dict[str, object] = {"previous_run": old_run}
    if client is not None:
        client.subscribe_topic(engine._topic, engine._on_worker_event)
        info["scheduler"] = client.scheduler.address
    events.emit("run", state=engine.state, app=engine.config.app, info=info)
    return old_run


__all__ = ["next_log_path", "start_new_run"]
