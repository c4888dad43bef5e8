"""Widgets (ipywidgets + plotly) that work in JupyterLab, Notebook 7 and Voila."""

from __future__ import annotations

from typing import Any


def live_view(engine: Any, first_task: int | None = None, **options: Any) -> Any:
    """A live task-graph view of ``engine``'s run, from ``first_task`` on (all if None)."""
    from eflows_kernel.widgets.graph_view import TaskGraphView

    return TaskGraphView.for_engine(engine, first_task=first_task, **options)


__all__ = ["live_view"]
