"""An execution is a plan of steps: what runs, where, after what, with which inputs.

The executions service makes the plan once per request (inputs validated once, sites
bound once, the steps chosen once) and hands each step to the executor of its site.
A workflow's job steps form a DAG (``workflows/step_graph.py``): every
:class:`StepPlan` names the steps it waits for and the data movements its deployment
does, and :meth:`ExecutionPlan.ready` says which may start. A step's ``environment``
(a TOSCA ``AbstractEnvironment``) is a role that the trigger binds to a site: one site
name binds every role, a mapping ``{role: site}`` binds each.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.executions.store import LOCAL_SITE
from eflows_kernel.services.workflows import (
    ArgumentRenderError,
    InputValidationError,
    Step,
    Workflow,
    render_arguments,
    validate_inputs,
)
from eflows_kernel.services.workflows.model import SiteCopy
from eflows_kernel.services.workflows.shell_words import PLUGIN_JOBS, plugin_arguments
from eflows_kernel.services.workflows.step_fields import (
    dirs_read,
    render_step_fields,
    step_dir_key,
)
from eflows_kernel.services.workflows.step_graph import (
    StepGraphError,
    movements_by_step,
    site_copy_ends,
    step_dependencies,
)

SiteBinding = str | Mapping[str, str]  # one site for every role, or {role: site}


@dataclass(frozen=True)
class StepPlan:
    """One step of an execution: the workflow's step (templates filled), its site, what
    it waits for, and the data movements its deployment does."""

    name: str
    site: str
    step: Step
    depends_on: tuple[str, ...] = ()
    movements: tuple[str, ...] | None = None  # None: all of the workflow's
    # A copy step: step ``copy_of``'s run directory brought to ``site`` through this
    # server, for later steps there that read it (``step`` is the copied one's).
    copy_of: str | None = None
    # A copy a TOSCA ``SSH2SSH`` node asks for (``workflow.site_copies``): its node, and
    # its source path (on ``copy_of``'s site) and target path (on ``site``), filled.
    site_copy: str | None = None
    copy_paths: tuple[str, str] | None = None
    # A movement step: the data movement ``movement`` of job step ``job`` (a stage-in
    # before it, into the movement's own run directory on the site; a stage-out after it,
    # from the job's run directory). ``step`` is the job's.
    movement: str | None = None
    job: str | None = None
    # A job step: its stage-in movement steps, whose run directories its deployment
    # links into its own before it runs (``${steps.<s>.dir}`` names each).
    links: tuple[str, ...] = ()

    @property
    def stages_out(self) -> bool:
        """A movement step that runs after its job (a stage-out), not before it."""
        return bool(self.movement) and self.name.split(MOVEMENT_MARK)[1] == "out"


COPY_ARROW = "->"  # in no step name (names are letters, digits, '_', '.', '-')


def copy_step_name(step: str, site: str) -> str:
    """The name of the copy of ``step``'s run directory to ``site``: ``<step>-><site>``."""
    return f"{step}{COPY_ARROW}{site}"


def is_copy_step(name: str | None) -> bool:
    return bool(name) and COPY_ARROW in str(name)


MOVEMENT_MARK = ":"  # in no step or movement name either
# The movement kinds a step of their own does (the DLS kinds, through this server or
# fetched by the site): a local upload or a ``cluster:`` path stays in the job's
# deployment, and so does a stage-out synced ``every`` period while the job runs. The
# MLflow kinds are model uploads after the job (services/transfers/locations.py).
MOVEMENT_STEP_KINDS = ("http", "webdav", "s3", "b2share", "dls", "image", "mlflow",
                       "mlflow_search")


def movement_step_name(job: str, direction: str, movement: str) -> str:
    """The name of a movement step: ``<job>:in:<movement>`` or ``<job>:out:<movement>``."""
    return MOVEMENT_MARK.join((job, direction, movement))


def is_movement_step(name: str | None) -> bool:
    return bool(name) and MOVEMENT_MARK in str(name)


def driven_by_graph(name: str | None) -> bool:
    """A step the graph's driver makes itself (a copy or a movement), not an executor:
    after a restart the driver starts it again, the executors do not re-attach it."""
    return is_copy_step(name) or is_movement_step(name)


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

    @property
    def is_graph(self) -> bool:
        """More than one step: each runs as an execution of its own (``graph.py``)."""
        return len(self.steps) > 1

    @property
    def sites(self) -> dict[str, str]:
        """Step name -> the site it runs on."""
        return {s.name: s.site for s in self.steps}

    def step(self, name: str) -> StepPlan:
        return next(s for s in self.steps if s.name == name)

    def ready(self, finished: Collection[str]) -> list[StepPlan]:
        """The steps not finished whose every dependency has finished, in plan order."""
        return [s for s in self.steps
                if s.name not in finished and all(d in finished for d in s.depends_on)]


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
    if values is not None:  # earlier steps' directories are known when those have run
        values = {**{step_dir_key(s): f"${{{step_dir_key(s)}}}" for s in deps}, **values}
    for step in workflow.steps:
        try:
            filled = render_step_fields(step, values) if values is not None else step
        except InputValidationError as exc:
            errors.update(exc.errors)
            continue
        steps.append(StepPlan(step.name, sites[step.name], filled, deps[step.name],
                              None if single else moved[step.name]))
    if errors:
        raise ValidationError("; ".join(errors[k] for k in sorted(errors)), fields=errors)
    steps = _with_movement_steps(steps, workflow)
    steps = _with_site_copies(steps, workflow, site, values, places or {})
    return _with_copies(tuple(steps), workflow, places or {})


def _stepped(workflow: Workflow, plan: StepPlan) -> list[tuple[str, str]]:
    """The (direction, name) of the movements of a job step that are steps of their own."""
    names = plan.movements if plan.movements is not None else tuple(
        m.name for m in workflow.data_movements)
    found = []
    for movement in workflow.data_movements:
        if movement.name not in names or movement.kind not in MOVEMENT_STEP_KINDS:
            continue
        if movement.direction == "in" or (movement.kind != "http" and not movement.every):
            found.append((movement.direction, movement.name))
    return found


def _with_movement_steps(steps: list[StepPlan], workflow: Workflow) -> list[StepPlan]:
    """``steps`` with a step for each data-service movement of a job on a site: its
    stage-ins before it (the job waits for them and links their directories), its
    stage-outs after it (once it succeeded). The local site does no data movements."""
    result: list[StepPlan] = []
    for plan in steps:
        stepped = _stepped(workflow, plan) if plan.site != LOCAL_SITE else []
        if not stepped:
            result.append(plan)
            continue
        ins = [StepPlan(movement_step_name(plan.name, "in", name), plan.site, plan.step,
                        movement=name, job=plan.name)
               for direction, name in stepped if direction == "in"]
        outs = [StepPlan(movement_step_name(plan.name, "out", name), plan.site, plan.step,
                         (plan.name,), movement=name, job=plan.name)
                for direction, name in stepped if direction == "out"]
        moved = {name for _direction, name in stepped}
        kept = tuple(m.name for m in workflow.data_movements if m.name not in moved and (
            plan.movements is None or m.name in plan.movements))
        links = tuple(s.name for s in ins)
        result += [*ins, replace(plan, depends_on=(*plan.depends_on, *links),
                                 movements=kept, links=links), *outs]
    # A later job that waited for a job waits for its stage-outs too (its data is out).
    outs_of: dict[str, list[str]] = {}
    for plan in result:
        if plan.stages_out and plan.job:
            outs_of.setdefault(plan.job, []).append(plan.name)
    return [replace(p, depends_on=tuple(d for dep in p.depends_on for d in (
        dep, *outs_of.get(dep, ())))) if not p.movement and any(
            d in outs_of for d in p.depends_on) else p for p in result]


def _host(place: str | None) -> str | None:
    """The host of a place (``login@host:port``)."""
    return place.rpartition("@")[2].rpartition(":")[0] or None if place else None


def _copy_site(copy: SiteCopy, side: str, role: str | None, host: str | None,
               site: SiteBinding, steps: list[StepPlan],
               places: Mapping[str, str | None]) -> str:
    """The bound site one end of a site copy is on: the site whose host (or name) is
    the end's host when it names one, else the site its role is bound to."""
    bound = sorted({s.site for s in steps} | (
        set(site.values()) if isinstance(site, Mapping) else {site}))
    field = f"site_copies.{copy.name}.{side}"
    if host:
        for name in bound:
            if host in (name, _host(places.get(name))):
                return name
        message = (f"{copy.name}: {side} {host!r} is not the host of a site bound to this "
                   f"execution (bound: {', '.join(bound)}); bind the site on {host} to "
                   f"{role or 'a role'}")
        raise ValidationError(message, fields={field: message})
    if isinstance(site, str):
        return site
    if role and role in site:
        return site[role]
    on_role = sorted({s.site for s in steps if s.step.environment == role})
    if len(on_role) == 1:
        return on_role[0]
    message = f"{copy.name}: environment {role!r} is not bound to a site: add {role}=SITE"
    raise ValidationError(message, fields={"site": message, field: message})


def _fill_copy_field(copy: SiteCopy, side: str, values: Mapping[str, Any] | None) -> str:
    """One end of a site copy with the inputs filled (as registered without values)."""
    text = getattr(copy, side) or ""
    if values is None:
        return text
    try:
        return render_arguments(text, values)
    except ArgumentRenderError as exc:
        message = (f"{copy.name}: its {side} needs the input {exc.name!r}, which has no "
                   "value (declared without a default): give it at trigger")
        raise ValidationError(message, fields={exc.name: message,
                                               f"site_copies.{copy.name}.{side}": message}
                              ) from None


def _with_site_copies(steps: list[StepPlan], workflow: Workflow, site: SiteBinding,
                      values: Mapping[str, Any] | None,
                      places: Mapping[str, str | None]) -> list[StepPlan]:
    """``steps`` with a copy step for each of the workflow's site copies (TOSCA
    ``SSH2SSH``): after the job it follows on the source site, before the jobs that wait
    for it, from the source path to the target path, both filled from the inputs."""
    if not workflow.site_copies:
        return steps
    ends = site_copy_ends(workflow)
    by_name = {s.name: s for s in steps}
    waits: dict[str, list[str]] = {}
    copies: list[StepPlan] = []
    for copy in workflow.site_copies:
        filled = {side: _fill_copy_field(copy, side, values) for side in (
            "source_host", "target_host", "source_path", "target_path")}
        hosts = [filled["source_host"] or None, filled["target_host"] or None]
        paths = (filled["source_path"], filled["target_path"])
        source_site = _copy_site(copy, "source_host", copy.source_environment, hosts[0],
                                 site, steps, places)
        target_site = _copy_site(copy, "target_host", copy.environment, hosts[1], site,
                                 steps, places)
        before, after = ends[copy.name]
        origin = next((by_name[s] for s in reversed(before)
                       if by_name[s].site == source_site), None)
        if origin is None:
            message = (f"{copy.name}: copies from site {source_site!r} after no step that "
                       f"runs there (it follows {', '.join(before) or 'no step'})")
            raise ValidationError(message, fields={f"site_copies.{copy.name}": message})
        name = copy_step_name(origin.name, target_site)
        if name in {c.name for c in copies}:
            message = (f"{copy.name}: a second copy from step {origin.name!r} to site "
                       f"{target_site!r}; copy once, to one target path")
            raise ValidationError(message, fields={f"site_copies.{copy.name}": message})
        copies.append(StepPlan(name, target_site, origin.step, (origin.name,), (),
                               copy_of=origin.name, site_copy=copy.name, copy_paths=paths))
        for reader in after:
            waits.setdefault(reader, []).append(name)
    result: list[StepPlan] = []
    for plan in steps:
        if plan.name in waits:
            plan = replace(plan, depends_on=(*plan.depends_on, *waits[plan.name]))
        result.append(plan)
        result += [c for c in copies if c.copy_of == plan.name]
    return result


def _with_copies(steps: tuple[StepPlan, ...], workflow: Workflow,
                 places: Mapping[str, str | None]) -> tuple[StepPlan, ...]:
    """``steps`` with a copy step before every step reading a directory its site cannot
    see (a place not known, None, is not judged: the directory is passed as it is)."""
    by_name = {s.name: s for s in steps}
    copies: dict[str, StepPlan] = {}
    result = []
    for plan in steps:
        extra = []
        skip = plan.copy_of or plan.movement
        for source in () if skip else dirs_read(workflow.step(plan.name)):
            origin = by_name.get(source)
            if origin is None or origin.site == plan.site:
                continue
            here, there = places.get(plan.site), places.get(origin.site)
            if here is None or there is None or here == there:
                continue  # not known, or another workdir of the same login on the same host
            name = copy_step_name(source, plan.site)
            if name in by_name:  # a site copy of the workflow brings it already
                extra.append(name)
                continue
            copies.setdefault(name, StepPlan(name, plan.site, origin.step, (source,),
                                             (), copy_of=source))
            extra.append(name)
        result.append(replace(plan, depends_on=(*plan.depends_on, *extra)) if extra else plan)
    # A copy goes right after the step it copies, so the plan's order stays a DAG order.
    ordered: list[StepPlan] = []
    for plan in result:
        ordered.append(plan)
        ordered += [c for c in copies.values() if c.copy_of == plan.name]
    return tuple(ordered)


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


__all__ = ["MOVEMENT_STEP_KINDS", "ExecutionPlan", "SiteBinding", "StepPlan", "bind_sites",
           "copy_step_name", "driven_by_graph", "is_copy_step", "is_movement_step",
           "movement_step_name", "plan_execution", "plan_steps", "render_step", "with_values"]
