"""The copy steps of a plan: a step's files brought to another site through this server.

Two kinds, both named ``<step>-><site>`` (``plan.py:copy_step_name``) and run by the
graph's ``StepCopier``: the workflow's own site copies (a TOSCA ``SSH2SSH`` node: from a
source path after the job it follows to a target path before the jobs that wait for it,
each end on the bound site its host or role names), and the copy of a run directory
that a step reads (``${steps.<s>.dir}``) on a site that cannot see it (another host or
login), unless a site copy brings it there already: only the declared outputs read there
(``${steps.<s>.outputs.<o>}``) when no step there names the whole directory. Apart from
``planning.py`` because
where each end of a copy is, and when a site cannot see another's files, are rules of
their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.executions.plan import SiteBinding, StepPlan, copy_step_name
from eflows_kernel.services.workflows import ArgumentRenderError, Workflow, render_arguments
from eflows_kernel.services.workflows.model import SiteCopy
from eflows_kernel.services.workflows.step_fields import step_reads
from eflows_kernel.services.workflows.step_graph import site_copy_ends


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
    see (a place not known, None, is not judged: the directory is passed as it is). A
    copy carries only the declared outputs its readers name (``copy_outputs``), unless
    one names the whole directory."""
    by_name = {s.name: s for s in steps}
    copies: dict[str, StepPlan] = {}
    result = []
    for plan in steps:
        extra = []
        skip = plan.copy_of or plan.movement
        for source, outputs in () if skip else step_reads(
                workflow.step(plan.name)).items():
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
            had = copies.get(name)
            carried = _carried(had.copy_outputs if had else (), outputs)
            copies[name] = StepPlan(name, plan.site, origin.step, (source,), (),
                                    copy_of=source, copy_outputs=carried)
            extra.append(name)
        result.append(replace(plan, depends_on=(*plan.depends_on, *extra)) if extra else plan)
    # A copy goes right after the step it copies, so the plan's order stays a DAG order.
    ordered: list[StepPlan] = []
    for plan in result:
        ordered.append(plan)
        ordered += [c for c in copies.values() if c.copy_of == plan.name]
    return tuple(ordered)



def _carried(had: tuple[str, ...] | None,
             outputs: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """What one more reader adds to a copy: its outputs (None: the whole directory)."""
    if had is None or outputs is None:
        return None
    return (*had, *(o for o in outputs if o not in had))
