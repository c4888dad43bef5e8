"""Planning an execution: its inputs checked, its sites bound, its steps chosen, once.

The one place that turns a trigger (inputs, a site or ``{role: site}``, the sites'
places) into an :class:`~eflows_kernel.services.executions.plan.ExecutionPlan`: the
workflow's job steps in DAG order with their templates filled, then the steps the plan
adds (movement steps, ``plan_movements.py``; copy steps, ``plan_copies.py``). The
executions service, both executors and a run re-attached after a restart all run what
it returns: after a restart the plan is made again from the record (:func:`replan`),
with the sites bound at trigger, never for one step alone on its own site.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.executions.plan import ExecutionPlan, SiteBinding, StepPlan
from eflows_kernel.services.executions.plan_copies import _with_copies, _with_site_copies
from eflows_kernel.services.executions.plan_movements import _with_movement_steps
from eflows_kernel.services.executions.store import Execution
from eflows_kernel.services.workflows import InputValidationError, Workflow, validate_inputs
from eflows_kernel.services.workflows.movement_fields import with_periods
from eflows_kernel.services.workflows.step_fields import render_step_fields, step_dir_key
from eflows_kernel.services.workflows.step_graph import (
    StepGraphError,
    movements_by_step,
    step_dependencies,
)
from eflows_kernel.services.workflows.step_outputs import output_key


def _site_error(message: str) -> ValidationError:
    return ValidationError(message, fields={"site": message})


def bind_sites(workflow: Workflow, site: SiteBinding) -> dict[str, str]:
    """Each step's site: its environment role looked up in ``site``.

    A string binds every role. In a mapping, a step without a role takes the one site
    the mapping names (several: it must be bound by its step name). An unbound role, or
    a role the workflow does not have, is a ``ValidationError`` on ``site`` naming it.
    """
    if isinstance(site, str):
        if not site:
            raise _site_error("site must not be empty")
        return {step.name: site for step in workflow.steps}
    if not isinstance(site, Mapping) or not site or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in site.items()):
        raise _site_error("site must be a site name or a non-empty object {ENVIRONMENT: SITE}")
    roles = {s.environment for s in workflow.steps if s.environment} | set(
        workflow.environments)
    known = roles | {s.name for s in workflow.steps}
    unknown = sorted(set(site) - known)
    if unknown:
        raise _site_error(f"workflow {workflow.name!r} has no environment "
                          f"{', '.join(map(repr, unknown))} (its environments: "
                          f"{', '.join(sorted(roles)) or 'none'})")
    distinct = sorted(set(site.values()))
    bound: dict[str, str] = {}
    for step in workflow.steps:
        role = step.environment
        if step.name in site:
            bound[step.name] = site[step.name]
        elif role and role in site:
            bound[step.name] = site[role]
        elif not role and len(distinct) == 1:
            bound[step.name] = distinct[0]
        else:
            what = f"environment {role!r}" if role else f"step {step.name!r} (no environment)"
            raise _site_error(f"{what} is not bound to a site: add {role or step.name}=SITE")
    return bound


def plan_steps(workflow_id: str, workflow: Workflow, site: SiteBinding,
               values: Mapping[str, Any] | None = None,
               places: Mapping[str, str | None] | None = None) -> tuple[StepPlan, ...]:
    """The steps an execution of ``workflow`` runs, each on its bound site.

    The one place that chooses them: the executions service, both executors and a run
    re-attached after a restart all run what this returns. ``values``: fill the steps'
    templates (qos, num_nodes, time limit...) and check their types (``ValidationError``
    naming each field by its path); without them the steps are as registered.
    ``places``: site -> whose files a step there sees (``Target.place``). A step that
    reads an earlier step's run directory (``${steps.<s>.dir}``) on a site that does not
    see it (another host or login) waits for a copy step that brings the directory
    there (:func:`copy_step_name`), never for a path that names nothing on its site.
    """
    if not workflow.steps:
        raise ValidationError(f"workflow {workflow.name!r} has no step to run",
                              id=workflow_id)
    try:
        deps = step_dependencies(workflow)
        moved = movements_by_step(workflow)
    except StepGraphError as exc:
        raise ValidationError(str(exc), fields=exc.errors) from None
    sites = bind_sites(workflow, site)
    single = len(workflow.steps) == 1
    steps = []
    errors: dict[str, str] = {}
    if values is not None:  # earlier steps' directories (and outputs) are known when
        later = [step_dir_key(s) for s in deps] + [  # those have run
            output_key(s.name, o) for s in workflow.steps for o in s.outputs]
        values = {**{key: f"${{{key}}}" for key in later}, **values}
    for step in workflow.steps:
        try:
            filled = render_step_fields(step, values) if values is not None else step
        except InputValidationError as exc:
            errors.update(exc.errors)
            continue
        steps.append(StepPlan(step.name, sites[step.name], filled, deps[step.name],
                              None if single else moved[step.name]))
    if values is not None:  # a templated period decides which movements are steps
        try:
            workflow = with_periods(workflow, values)
        except InputValidationError as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationError("; ".join(errors[k] for k in sorted(errors)), fields=errors)
    steps = _with_movement_steps(steps, workflow, site, values, places)
    steps = _with_site_copies(steps, workflow, site, values, places or {})
    return _with_copies(tuple(steps), workflow, places or {})


def plan_execution(workflow_id: str, workflow: Workflow, inputs: Mapping[str, Any],
                   site: SiteBinding,
                   places: Mapping[str, str | None] | None = None) -> ExecutionPlan:
    """Check the inputs against the workflow's declaration, bind sites, choose the steps.

    Raises ``ValidationError`` with one message per faulty input (or field) in ``fields``.
    """
    try:
        values = validate_inputs(workflow, inputs)
    except InputValidationError as exc:
        raise ValidationError(str(exc), fields=exc.errors) from None
    return ExecutionPlan(workflow_id, workflow, values,
                         plan_steps(workflow_id, workflow, site, values, places))


def replan(execution: Execution, workflow: Workflow,
           place_of: Callable[[str], str | None]) -> ExecutionPlan:
    """The plan ``execution`` was triggered with, made again from its record (a server
    restarted: the graph's driver and the executors re-attach to what it left).

    ``execution`` is the graph's record for a step of a graph: a step is re-planned as a
    step of its graph, with every site bound at trigger (``Execution.site_binding``) and
    their places (``place_of``: site -> its place now, None when it cannot be told),
    so a copy or an image transfer naming another bound site's host is planned as it
    was (planned alone on its own site, it named a host of no bound site, or went to
    the job's site). The inputs are the record's; a step's own record adds the earlier
    steps' run directories to them (``rendering.with_values``).
    """
    binding = execution.site_binding
    names = sorted(set(binding.values()) if isinstance(binding, Mapping) else {binding})
    places = {name: place_of(name) for name in names}
    return ExecutionPlan(execution.workflow_id, workflow, dict(execution.inputs),
                         plan_steps(execution.workflow_id, workflow, binding,
                                    execution.inputs, places))


__all__ = ["bind_sites", "plan_execution", "plan_steps", "replan"]
