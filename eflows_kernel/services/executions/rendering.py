"""A step's templates filled when it starts, with what is known only then.

The plan fills a step's fields from the inputs (``planning.py``); what an earlier step
left (its run directory, ``${steps.<s>.dir}``) and the inputs as the application sees
them where it runs (paths staged to a site) are known once the step is about to start:
the graph's driver and the executors fill them here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.executions.plan import ExecutionPlan, StepPlan
from eflows_kernel.services.workflows import (
    ArgumentRenderError,
    InputValidationError,
    Step,
    render_arguments,
)
from eflows_kernel.services.workflows.shell_words import PLUGIN_JOBS, plugin_arguments
from eflows_kernel.services.workflows.step_fields import render_step_fields


def with_values(plan: ExecutionPlan, step: StepPlan,
                values: Mapping[str, Any]) -> tuple[ExecutionPlan, StepPlan]:
    """The plan and ``step`` with more values for templates (earlier steps' run
    directories, known once they ran): the step's fields filled again with them."""
    values = {**plan.values, **values}
    try:
        filled = render_step_fields(plan.workflow.step(step.name), values)
    except InputValidationError as exc:
        raise ValidationError(str(exc), fields=exc.errors) from None
    return replace(plan, values=values), replace(step, step=filled)


def render_step(step: Step, values: Mapping[str, Any],
                argument_values: Mapping[str, Any] | None = None) -> tuple[str, list[str]]:
    """The step's application and arguments with the inputs filled in (a TOSCA
    PyCOMPSs job's arguments cut into the words its plugin's shell made of them).

    ``argument_values``: the inputs as the application sees them where it runs, when
    they differ from ``values`` (paths staged to a site). A reference to an unknown
    input is a ``ValidationError`` naming it.
    """
    seen = values if argument_values is None else argument_values
    try:
        if step.options.get("tosca_type") in PLUGIN_JOBS:  # cut as the plugin's shell did
            arguments = plugin_arguments(list(step.arguments), seen)
        else:
            arguments = render_arguments(list(step.arguments), seen)
        return render_arguments(step.application, values), arguments
    except ArgumentRenderError as exc:
        raise ValidationError(str(exc), fields={exc.name: str(exc)}) from None


__all__ = ["render_step", "with_values"]
