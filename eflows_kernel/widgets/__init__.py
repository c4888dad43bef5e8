"""The task-graph widget (anywidget, canvas) that works in JupyterLab, Notebook 7 and Voila."""

from __future__ import annotations

from typing import Any


def live_view(engine: Any = None, first_task: int | None = None, **options: Any) -> Any:
    """A live task-graph view of a run (the current engine's by default).

    ``first_task`` limits it to the tasks from that id on (the kernel shows each cell
    its own tasks this way).
    """
    from eflows_kernel.engine import current_engine
    from eflows_kernel.widgets.graph_view import TaskGraphView

    engine = engine if engine is not None else current_engine()
    if engine is None:
        raise RuntimeError("no engine is running: use the eFlows4HPC kernel, or call "
                           "eflows_kernel.start() first")
    return TaskGraphView.for_engine(engine, first_task=first_task, **options)


def replay(path: Any, **options: Any) -> Any:
    """The task graph of a recorded run, from its event log file."""
    from pathlib import Path

    from eflows_kernel.engine import current_engine
    from eflows_kernel.widgets.graph_view import TaskGraphView

    engine = current_engine()
    if engine is not None and engine.events.log_path == Path(path):
        engine.events.flush()  # the run is still going: show all it has done so far

    return TaskGraphView.replay(path, **options)


__all__ = ["live_view", "replay"]
