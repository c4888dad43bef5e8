"""Which record holds the files of one step of an execution.

A step graph's parent record runs nothing itself: each step is a child execution with
its own id, site, credential and run folder (``<runs_dir>/<child id>`` here,
``<workdir>/runs/<child id>`` on its site). Whoever serves a step's files names the
step; this finds its record, or says why there is none (an unknown step, one that
never started), the same way for the local folders and for the site folders.
"""

from __future__ import annotations

from eflows_kernel.services.errors import ConflictError, NotFoundError, ValidationError
from eflows_kernel.services.executions.store import Execution, ExecutionStore


def step_records(store: ExecutionStore, execution: Execution) -> dict[str, Execution]:
    """Each step of a graph that started -> its record (the latest, if it ran again)."""
    return {child.step: child for child in store.steps(execution.id) if child.step}


def step_names(execution: Execution) -> list[str]:
    """The steps of a graph in plan order (the copies and movements it added included)."""
    return list(execution.step_sites or {})


def record_for(store: ExecutionStore, execution_id: str, step: str | None) -> Execution:
    """The record whose folder holds ``step``'s files (``None``: the execution's own).

    An execution that runs no graph has no steps to name (400); a graph has no step of
    that name (404, naming its steps) or that step has not started (409: no folder yet).
    """
    execution = store.get(execution_id)
    if step is None:
        return execution
    if not isinstance(step, str) or not step:
        raise ValidationError("step must be the name of a step of the execution",
                              fields={"step": "required"})
    if not execution.is_graph:
        raise ValidationError(f"execution {execution.id} runs no step graph: it has no step "
                              f"{step!r} (leave step out for its files)",
                              fields={"step": "not a step graph"})
    names = step_names(execution)
    if step not in names:
        raise NotFoundError(f"execution {execution.id} has no step {step!r} (its steps: "
                            f"{', '.join(names)})", id=execution.id, step=step)
    child = step_records(store, execution).get(step)
    if child is None:
        raise ConflictError(f"step {step!r} of execution {execution.id} has not started: "
                            "it has no run folder yet", id=execution.id, step=step)
    return child


__all__ = ["record_for", "step_names", "step_records"]
