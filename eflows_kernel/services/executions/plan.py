"""An execution is a plan of steps: what runs, where, after what, with which inputs.

The executions service makes the plan once per request (inputs validated once, sites
bound once, the steps chosen once: ``planning.py``) and hands each step to the executor
of its site. A workflow's job steps form a DAG (``workflows/step_graph.py``): every
:class:`StepPlan` names the steps it waits for and the data movements its deployment
does, and :meth:`ExecutionPlan.ready` says which may start. A step's ``environment``
(a TOSCA ``AbstractEnvironment``) is a role that the trigger binds to a site: one site
name binds every role, a mapping ``{role: site}`` binds each.

This module is what a plan is, and how the steps the plan adds to a workflow's own are
named (copies ``<step>-><site>``, movements ``<job>:in|out:<movement>``): the planning,
the executors and the graph's driver all read it, so it imports none of them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from eflows_kernel.services.workflows import Step, Workflow

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
    # A copy of declared outputs only (``${steps.<s>.outputs.<o>}`` is all its readers
    # name): their names, each a path below ``copy_of``'s run directory; None: all of it.
    copy_outputs: tuple[str, ...] | None = None
    # A movement step: the data movement ``movement`` of job step ``job`` (a stage-in
    # before it, into the movement's own run directory on the site; a stage-out after it,
    # from the job's run directory). ``step`` is the job's.
    movement: str | None = None
    job: str | None = None
    # A job step: its stage-in movement steps, whose run directories its deployment
    # links into its own before it runs (``${steps.<s>.dir}`` names each).
    links: tuple[str, ...] = ()
    # A stage-out synced ``every`` period while its job runs (the job's deployment does
    # the syncs): this step is the last, complete sync, once the job ended, failed too
    # (partial results are what a periodic sync is for).
    final_sync: bool = False

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

    def ready(self, finished: Collection[str],
              failed: Collection[str] = ()) -> list[StepPlan]:
        """The steps not finished whose every dependency has finished, in plan order;
        a final sync also follows its job when that job is in ``failed`` (it ran)."""
        return [s for s in self.steps if s.name not in (*finished, *failed) and all(
            d in finished or (s.final_sync and d == s.job and d in failed)
            for d in s.depends_on)]

    def synced(self, job: str) -> tuple[str, ...]:
        """The stage-outs job step ``job`` syncs while it runs, whose last sync is a
        step of its own (its deployment does not copy them once more at its end)."""
        return tuple(s.movement or "" for s in self.steps if s.final_sync and s.job == job)


__all__ = ["ExecutionPlan", "SiteBinding", "StepPlan", "copy_step_name", "driven_by_graph",
           "is_copy_step", "is_movement_step", "movement_step_name"]
