"""An execution is a plan of steps: what runs, where, after what, with which inputs.

The executions service makes the plan once per request (inputs validated once, the
steps chosen once) and hands each step to the executor of its site. The plan is the
place where a workflow of several steps (PyCOMPSs jobs, data movements, container
images, each bound to a site through its environment role) becomes a DAG: every
:class:`StepPlan` names the steps it waits for, and :meth:`ExecutionPlan.ready` says
which may start. Until executions run several steps (the workflows issue), a plan
holds the workflow's first step, which is what every execution path has always run.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.workflows import (
    ArgumentRenderError,
    InputValidationError,
    Step,
    Workflow,
    render_arguments,
    validate_inputs,
)


@dataclass(frozen=True)
class StepPlan:
    """One step of an execution: the workflow's step, the site it runs on, what it waits for."""

    name: str
    site: str
    step: Step
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExecutionPlan:
    """What one execution runs: a registered workflow, its checked inputs, its steps."""

    workflow_id: str
    workflow: Workflow
    values: dict[str, Any]  # the inputs, validated and typed, as the record keeps them
    steps: tuple[StepPlan, ...]

    @property
    def entry(self) -> StepPlan:
        """The step an execution starts with (the first one that waits for nothing)."""
        return self.ready(())[0]

    def ready(self, finished: Collection[str]) -> list[StepPlan]:
        """The steps not finished whose every dependency has finished, in plan order."""
        return [s for s in self.steps
                if s.name not in finished and all(d in finished for d in s.depends_on)]


def plan_steps(workflow_id: str, workflow: Workflow, site: str) -> tuple[StepPlan, ...]:
    """The steps an execution of ``workflow`` on ``site`` runs (today: its first step).

    The one place that chooses them: the local and the remote executor, and a remote
    run re-attached after a restart, all run what this returns.
    """
    if not workflow.steps:
        raise ValidationError(f"workflow {workflow.name!r} has no step to run",
                              id=workflow_id)
    first = workflow.steps[0]
    return (StepPlan(first.name, site, first),)


def plan_execution(workflow_id: str, workflow: Workflow, inputs: Mapping[str, Any],
                   site: str) -> ExecutionPlan:
    """Check the inputs against the workflow's declaration and choose the steps.

    Raises ``ValidationError`` with one message per faulty input in ``fields``.
    """
    try:
        values = validate_inputs(workflow, inputs)
    except InputValidationError as exc:
        raise ValidationError(str(exc), fields=exc.errors) from None
    return ExecutionPlan(workflow_id, workflow, values, plan_steps(workflow_id, workflow, site))


def render_step(step: Step, values: Mapping[str, Any],
                argument_values: Mapping[str, Any] | None = None) -> tuple[str, list[str]]:
    """The step's application and arguments with the inputs filled in.

    ``argument_values``: the inputs as the application sees them where it runs, when
    they differ from ``values`` (paths staged to a site). A reference to an unknown
    input is a ``ValidationError`` naming it.
    """
    try:
        arguments = render_arguments(list(step.arguments),
                                     values if argument_values is None else argument_values)
        return render_arguments(step.application, values), arguments
    except ArgumentRenderError as exc:
        raise ValidationError(str(exc), fields={exc.name: str(exc)}) from None


__all__ = ["ExecutionPlan", "StepPlan", "plan_execution", "plan_steps", "render_step"]
