"""A data movement's ``every`` as a template: filled and checked as a period at trigger.

A user who syncs results out of the cluster while a run goes may let the trigger choose
how often (``every: "${period}"``), as any other field. The period decides the plan's
shape (a periodic stage-out stays in the job's deployment, synced while it runs), so
it is filled where the plan is made (``executions/planning.py``) and again where the
deployment is staged (``deploy/staging.py``), from the same values. A value that fills
to nothing means no periodic sync (an optional input left empty turns it off).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eflows_kernel.services.workflows.errors import ArgumentRenderError, InputValidationError
from eflows_kernel.services.workflows.inputs import render_arguments
from eflows_kernel.services.workflows.model import DataMovement, Workflow, period_problem


def every_path(movement: DataMovement) -> str:
    """The field path of ``movement``'s period, as errors name it."""
    return f"data_movements.{movement.name}.every"


def render_every(movement: DataMovement, values: Mapping[str, Any]) -> str | None:
    """``movement``'s period with its templates filled (None: no periodic sync).

    Raises ``InputValidationError`` naming ``data_movements.<m>.every`` when a reference
    is unknown or the value is not a period.
    """
    if movement.every is None or "$" not in movement.every:
        return movement.every
    path = every_path(movement)
    try:
        filled = render_arguments(movement.every, values).strip()
    except ArgumentRenderError as exc:
        raise InputValidationError({path: f"{path}: {exc}"}) from None
    if not filled:
        return None
    problem = period_problem(filled)
    if problem is not None:
        raise InputValidationError({path: f"{path}: {problem}"})
    return filled


def with_periods(workflow: Workflow, values: Mapping[str, Any]) -> Workflow:
    """``workflow`` with every movement's period filled; ``InputValidationError`` naming
    each faulty one."""
    errors: dict[str, str] = {}
    moves = []
    for movement in workflow.data_movements:
        try:
            every = render_every(movement, values)
        except InputValidationError as exc:
            errors.update(exc.errors)
            continue
        moves.append(movement if every == movement.every
                     else movement.model_copy(update={"every": every}))
    if errors:
        raise InputValidationError(errors)
    return workflow.model_copy(update={"data_movements": moves})


__all__ = ["every_path", "render_every", "with_periods"]
