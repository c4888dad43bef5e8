"""The movement steps of a plan: a job's data-service stage-ins and stage-outs as steps.

A job on a site whose data movements a data service does (the DLS kinds, through this
server or fetched by the site) gets a step for each, before it (a stage-in, into the
movement's own run directory, which the job links into its own) or after it (a
stage-out, from the job's run directory): each has its own record, state, events and
cancel, and the job's deployment keeps only the movements it does itself. Apart from
``planning.py`` because the rules of which movement is a step change on their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from eflows_kernel.services.executions.movement_sites import image_site
from eflows_kernel.services.executions.plan import SiteBinding, StepPlan, movement_step_name
from eflows_kernel.services.executions.store import LOCAL_SITE
from eflows_kernel.services.workflows import Workflow

# The movement kinds a step of their own does (the DLS kinds, through this server or
# fetched by the site): a local upload or a ``cluster:`` path stays in the job's
# deployment. A stage-out synced ``every`` period is a step for its last sync, and on a
# site also stays in the job's deployment, which syncs it while the job runs. The
# MLflow kinds are model uploads after the job (services/transfers/locations.py).
MOVEMENT_STEP_KINDS = ("http", "webdav", "s3", "b2share", "dls", "image", "mlflow",
                       "mlflow_search")


def _stepped(workflow: Workflow, plan: StepPlan) -> list[tuple[str, str]]:
    """The (direction, name) of the movements of a job step that are steps of their own."""
    names = plan.movements if plan.movements is not None else tuple(
        m.name for m in workflow.data_movements)
    found = []
    for movement in workflow.data_movements:
        if movement.name not in names or movement.kind not in MOVEMENT_STEP_KINDS:
            continue
        if movement.direction == "in" or movement.kind != "http":
            found.append((movement.direction, movement.name))
    return found


def _with_movement_steps(steps: list[StepPlan], workflow: Workflow, site: SiteBinding,
                         values: Mapping[str, Any] | None,
                         places: Mapping[str, str | None] | None) -> list[StepPlan]:
    """``steps`` with a step for each data-service movement of a job on a site: its
    stage-ins before it (the job waits for them and links their directories, those on
    its site: an image transfer may go to another, ``movement_sites.py``), its
    stage-outs after it (once it succeeded). A stage-out synced ``every`` period stays
    in a site's job too, which syncs it while it runs: its step is the last sync
    (``final_sync``), also after the job ran and failed. The local site does them too:
    this server is its site (``deploy/local_movements.py``), the job's run directory its
    cwd; a local job syncs nothing, so there it is a plain stage-out step."""
    result: list[StepPlan] = []
    movements = {m.name: m for m in workflow.data_movements}
    bound = sorted({s.site for s in steps} | (
        set(site.values()) if isinstance(site, Mapping) else {site}))
    for plan in steps:
        # (a local job syncs nothing while it runs: no final sync there)
        every = {m.name for m in workflow.data_movements if m.direction == "out" and
                 m.every} if plan.site != LOCAL_SITE else set()
        stepped = _stepped(workflow, plan)
        if not stepped:
            result.append(plan)
            continue
        ins = [StepPlan(movement_step_name(plan.name, "in", name), image_site(
            movements[name], plan.site, plan.step.environment, bound, values, places),
            plan.step, movement=name, job=plan.name)
               for direction, name in stepped if direction == "in"]
        outs = [StepPlan(movement_step_name(plan.name, "out", name), plan.site, plan.step,
                         (plan.name,), movement=name, job=plan.name,
                         final_sync=name in every)
                for direction, name in stepped if direction == "out"]
        moved = {name for _direction, name in stepped} - every  # (the job syncs those)
        kept = tuple(m.name for m in workflow.data_movements if m.name not in moved and (
            plan.movements is None or m.name in plan.movements))
        links = tuple(s.name for s in ins if s.site == plan.site)
        result += [*ins, replace(plan, depends_on=(*plan.depends_on, *(s.name for s in ins)),
                                 movements=kept, links=links), *outs]
    # A later job that waited for a job waits for its stage-outs too (its data is out).
    outs_of: dict[str, list[str]] = {}
    for plan in result:
        if plan.stages_out and plan.job:
            outs_of.setdefault(plan.job, []).append(plan.name)
    return [replace(p, depends_on=tuple(d for dep in p.depends_on for d in (
        dep, *outs_of.get(dep, ())))) if not p.movement and any(
            d in outs_of for d in p.depends_on) else p for p in result]


__all__ = ["MOVEMENT_STEP_KINDS"]
