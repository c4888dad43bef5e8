"""How the graph's driver has each step done, by whoever does that kind of step.

A job step goes to the executor of its site (``ExecutorRouter``), a copy step
(``plan.py:copy_step_name``: a step's files brought to another site) to this server's
:class:`StepCopier`, a movement step (``plan.py:movement_step_name``: a job's
data-service stage-in before it, its stage-out after it) to its site executor's
:class:`StepMover` (``movements``). :class:`StepRunner` starts each with what it needs
(a job the run directories of the steps before it, ``${steps.<s>.dir}``, and their
declared outputs, ``${steps.<s>.outputs.<o>}``: on its own site, or in the copy made to
its site; a stage-out its job's run directory), starts again the copies and movements a
restart cut (a copy keeps the files it checked and continues a ``.part``; a movement's
transfers resume), and cancels each through whoever does it. Apart from the driver
(``graph.py``), which only decides when a step starts, ends or is cancelled.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from eflows_kernel.events import read_events
from eflows_kernel.services.errors import ConflictError, ServiceError
from eflows_kernel.services.executions.executor import Target
from eflows_kernel.services.executions.graph_run import GraphRun
from eflows_kernel.services.executions.plan import (
    ExecutionPlan,
    StepPlan,
    is_copy_step,
    is_movement_step,
)
from eflows_kernel.services.executions.rendering import with_values
from eflows_kernel.services.executions.router import ExecutorRouter
from eflows_kernel.services.executions.store import Execution, ExecutionStore
from eflows_kernel.services.lifecycle import ExecutionState
from eflows_kernel.services.workflows.step_fields import step_dir_key
from eflows_kernel.services.workflows.step_graph import ancestors
from eflows_kernel.services.workflows.step_outputs import output_key, output_path

log = logging.getLogger(__name__)


class StepCopier(Protocol):
    """Copies a step's run directory from its site to another, through this server."""

    def start(self, execution: Execution, source: Execution, source_dir: str,
              target_dir: str | None = None, only: Sequence[str] = ()) -> None:
        """Copy ``source_dir`` (on ``source``'s site) into ``target_dir`` on
        ``execution.site`` (``None``: the copy's own run directory) in the background,
        moving the record to running, then done (its ``stage`` event with ``run_dir``:
        where the copy is) or failed. ``only``: paths below ``source_dir`` (declared
        outputs), the only ones copied, each to the same path below the copy."""

    def running(self, execution_id: str) -> bool:
        """Whether this process is copying for that record now."""

    def cancel(self, execution: Execution) -> Execution:
        """Stop the copy: the record ends ``cancelled``."""


class StepMover(Protocol):
    """Does the movement steps of a site (``plan.py:movement_step_name``): one data
    movement of a job, before it into the movement's own run directory, or after it
    from the job's run directory. An executor offers one as its ``movements``."""

    def check(self, plan: ExecutionPlan, step: StepPlan) -> None:
        """Refuse a movement that cannot be done (``ValidationError`` naming it)."""

    def start(self, execution: Execution, plan: ExecutionPlan, step: StepPlan,
              job_dir: str | None, answers: Mapping[str, str] | None = None) -> None:
        """Do the movement in the background, moving the record to running, then done
        (a stage-in's ``stage`` event with ``run_dir``: where its data is), failed or
        cancelled. ``job_dir``: the job's run directory on the site (a stage-out's);
        ``answers``: the password / code given at trigger, for a first login."""

    def running(self, execution_id: str) -> bool:
        """Whether this process moves data for that record now."""

    def cancel(self, execution: Execution) -> Execution:
        """Stop the movement: the record ends ``cancelled``."""


class StepRunner:
    """Starts, starts again and cancels the steps of this process's graphs."""

    def __init__(self, store: ExecutionStore, router: Callable[[], ExecutorRouter],
                 copier: Callable[[], StepCopier | None], runs_dir: Path) -> None:
        self.store = store
        self._router = router
        self._copier = copier
        self.runs_dir = runs_dir

    def start(self, graph: GraphRun, step: StepPlan,
              children: dict[str, Execution]) -> Execution:
        """Start ``step`` (its predecessors done) and return its record: one that
        cannot start is recorded failed, saying why."""
        plan = graph.plan
        if step.copy_of is not None:
            return self._start_copy(graph, step, children)
        if step.movement is not None:
            return self._start_movement(graph, step, children)
        earlier = ancestors(graph.deps, step.name)
        dirs: dict[str, str] = {}
        for name in earlier:
            if name in children:
                dirs.update(self._left(plan.step(name), self.step_dir(children[name])))
        for copy in plan.steps:  # a directory copied to this step's site: read the copy
            if copy.copy_of and copy.site == step.site and copy.name in earlier and \
                    copy.name in children:
                dirs.update(self._left(plan.step(copy.copy_of),
                                       self.step_dir(children[copy.name])))
        target: Target | None = graph.targets.get(step.site)
        record: list[Execution] = []
        try:
            step_plan, filled = with_values(plan, step, dirs)
            executor = self._router().for_site(step.site)
            if target is None:
                target = executor.target(step.site, graph.credential_id, None, {})
                graph.targets[step.site] = target
            found = target

            def create() -> Execution:
                record.append(self.store.create(
                    plan.workflow_id, step_plan.values, found.site, graph.credential_id,
                    login=found.login, parent_id=graph.execution_id, step=step.name))
                return record[0]

            return executor.start(step_plan, filled, target, create)
        except ServiceError as error:  # the step cannot start: it failed, say why
            child = record[0] if record else self.store.create(
                plan.workflow_id, plan.values, step.site, graph.credential_id,
                parent_id=graph.execution_id, step=step.name)
            with contextlib.suppress(ConflictError):
                return self.store.set_state(child.id, ExecutionState.FAILED,
                                            "the step could not start", error=error.message)
            return self.store.get(child.id)

    @staticmethod
    def _left(step: StepPlan, run_dir: str) -> dict[str, str]:
        """What an earlier step left, where ``run_dir`` (its own, or a copy) is: the
        values of ``${steps.<s>.dir}`` and of each ``${steps.<s>.outputs.<o>}``."""
        left = {step_dir_key(step.name): run_dir}
        for name, relative in step.step.outputs.items():
            left[output_key(step.name, name)] = output_path(run_dir, relative)
        return left

    def _record_own(self, graph: GraphRun, step: StepPlan) -> Execution:
        """The record of a step this process does itself (a copy, a movement)."""
        target = graph.targets.get(step.site)
        return self.store.create(graph.plan.workflow_id, graph.plan.values, step.site,
                                 graph.credential_id, login=target.login if target else None,
                                 parent_id=graph.execution_id, step=step.name)

    def _start_copy(self, graph: GraphRun, step: StepPlan,
                    children: dict[str, Execution]) -> Execution:
        child = self._record_own(graph, step)
        copier = self._copier()
        if copier is None:
            return self.store.set_state(
                child.id, ExecutionState.FAILED, "the step could not start",
                error=f"step {step.copy_of!r} ran on another site than the steps on "
                      f"{step.site!r} that read its directory, and this server copies "
                      "nothing between sites")
        source = children[step.copy_of or ""]
        copier.start(child, source, *self._copy_ends(step, source))
        return self.store.get(child.id)

    def mover(self, site: str) -> StepMover | None:
        """The movement steps of ``site``'s executor (None: it does none)."""
        return getattr(self._router().for_site(site), "movements", None)

    def _start_movement(self, graph: GraphRun, step: StepPlan,
                        children: dict[str, Execution]) -> Execution:
        child = self._record_own(graph, step)
        mover = self.mover(step.site)
        if mover is None:
            return self.store.set_state(
                child.id, ExecutionState.FAILED, "the step could not start",
                error=f"the executor of site {step.site!r} does no data movement "
                      f"{step.movement!r} as a step")
        self._move(mover, graph, step, child, children)
        return self.store.get(child.id)

    def _move(self, mover: StepMover, graph: GraphRun, step: StepPlan, child: Execution,
              children: Mapping[str, Execution]) -> None:
        job = children.get(step.job or "") if step.stages_out else None
        target = graph.targets.get(step.site)
        mover.start(child, graph.plan, step, self.step_dir(job) if job else None,
                    target.answers if target is not None else None)

    def resume(self, graph: GraphRun, children: Mapping[str, Execution]) -> None:
        """A copy or movement an earlier process was making when it stopped: made again
        (a copy keeps the files it checked; a movement resumes from its spool and .part)."""
        copier = self._copier()
        steps = {s.name: s for s in graph.plan.steps}
        for name, child in children.items():
            moving = steps.get(name) if is_movement_step(name) else None
            if moving is not None and not child.finished:
                mover = self.mover(moving.site)
                if mover is not None and not mover.running(child.id):
                    self._move(mover, graph, moving, child, children)
                continue
            step = steps.get(name) if is_copy_step(name) else None
            if step is None or child.finished or copier is None or copier.running(child.id):
                continue
            source = children.get(step.copy_of or "")
            if source is not None:
                copier.start(child, source, *self._copy_ends(step, source))

    def _copy_ends(self, step: StepPlan,
                   source: Execution) -> tuple[str, str | None, tuple[str, ...]]:
        """What a copy step reads and where it writes: the paths a DLS SSH2SSH node names
        (relative ones from the login's home), else the source step's run directory into
        the copy's own run directory (``None``), all of it or only the declared outputs
        its readers name (their paths below it)."""
        if step.copy_paths:
            return step.copy_paths[0], step.copy_paths[1], ()
        only = tuple(step.step.outputs[o] for o in step.copy_outputs or ()
                     if o in step.step.outputs)
        return self.step_dir(source), None, only

    def step_dir(self, child: Execution) -> str:
        """The run directory of a step on its site (``${steps.<step>.dir}``)."""
        if child.event_log:
            for event in read_events(child.event_log):
                info = event.get("info") or {}
                if event.get("type") == "stage" and info.get("run_dir"):
                    return str(info["run_dir"])
        return str(self.runs_dir / child.id)  # a local step runs in its run folder

    def cancel(self, graph: GraphRun, children: Mapping[str, Execution]) -> None:
        """Ask each running step's doer to stop it (once each; it may end meanwhile)."""
        for name, child in children.items():
            if child.finished or name in graph.cancel_sent:
                continue
            graph.cancel_sent.add(name)
            copier = self._copier() if is_copy_step(name) else None
            mover = self.mover(child.site) if is_movement_step(name) else None
            try:
                if copier is not None or mover is not None:
                    (copier or mover).cancel(child)  # type: ignore[union-attr]
                    continue
                self._router().for_execution(child).cancel(child)
            except ConflictError:
                pass  # it ended meanwhile
            except ServiceError as error:
                log.warning("eflows: cancelling step %s of %s failed: %s", name,
                            graph.execution_id, error.message)


__all__ = ["StepCopier", "StepMover", "StepRunner"]
