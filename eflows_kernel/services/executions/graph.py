"""Step graphs: an execution whose steps run as executions of their own, in DAG order.

Each step is a child execution (``parent_id`` + ``step``) that the executor of its site
runs exactly as it runs any execution: its own state, job id, event log and logs, and
re-attached after a restart by that executor. :class:`StepGraphs` drives the graph
execution: it starts the steps whose predecessors are done (independent ones at once),
never starts the successors of a failed step (they end ``cancelled``), cancels every
running step when the execution is cancelled, and copies every step's events into the
execution's one gap-free log (numbered there, each with its ``step`` and the
``step_seq`` it had), beside ``step`` events saying how each step moves on. All of it is
rebuilt from the records and the logs, so a restarted server goes on where it was.

A copy step (``plan.py:copy_step_name``: a step's run directory brought to a site that
cannot see it) is a child execution too, run by the :class:`StepCopier` through this
server; a later step on that site reads the copy as ``${steps.<s>.dir}``. A copy cut by
a restart is started again (it keeps the files it had checked and continues a ``.part``
that holds the source's first bytes).

A movement step (``plan.py:movement_step_name``: a job's data-service stage-in before
it, its stage-out after it) is a child execution run by the site executor's
:class:`StepMover` (``movements``); the job reads a stage-in's run directory as
``${steps.<job>:in:<movement>.dir}`` (and links it into its own). One cut by a restart
is started again (its transfers resume).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from eflows_kernel.events import EVENT_LOG, EventLogReader, EventStream, read_events
from eflows_kernel.services.errors import ConflictError, ServiceError
from eflows_kernel.services.executions.executor import Target
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
from eflows_kernel.services.workflows.step_graph import ancestors, successors

log = logging.getLogger(__name__)

PENDING = "pending"  # a step not started yet (it has no record)
CANCELLED = ExecutionState.CANCELLED.value


class StepCopier(Protocol):
    """Copies a step's run directory from its site to another, through this server."""

    def start(self, execution: Execution, source: Execution, source_dir: str,
              target_dir: str | None = None) -> None:
        """Copy ``source_dir`` (on ``source``'s site) into ``target_dir`` on
        ``execution.site`` (``None``: the copy's own run directory) in the background,
        moving the record to running, then done (its ``stage`` event with ``run_dir``:
        where the copy is) or failed."""

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


@dataclass
class _Graph:
    """What lives while one graph execution is driven by this process."""

    execution_id: str
    plan: ExecutionPlan
    credential_id: str | None
    targets: dict[str, Target]  # site -> where its steps run (checked at submit)
    log: EventStream
    readers: dict[str, EventLogReader] = field(default_factory=dict)
    reported: dict[str, str] = field(default_factory=dict)  # step -> last state logged
    cancel_sent: set[str] = field(default_factory=set)
    thread: threading.Thread | None = None

    @property
    def deps(self) -> dict[str, tuple[str, ...]]:
        return {s.name: s.depends_on for s in self.plan.steps}


@dataclass(frozen=True)
class StepStatus:
    """One step of a graph execution, as a user sees it."""

    name: str
    site: str
    depends_on: tuple[str, ...]
    state: str  # an ExecutionState value, or "pending"
    execution_id: str | None  # the step's own execution (None before it starts)
    job_id: str | None
    error: str | None


class StepGraphs:
    """Drives the graph executions of one process, one thread each."""

    def __init__(self, store: ExecutionStore, router: Callable[[], ExecutorRouter],
                 runs_dir: Path, interval: float = 0.2,
                 copier: Callable[[], StepCopier | None] | None = None) -> None:
        self.store = store
        self._router = router
        self._copier = copier or (lambda: None)
        self.runs_dir = Path(runs_dir)
        self.interval = interval
        self._graphs: dict[str, _Graph] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()

    # ---- starting ----------------------------------------------------------------------

    def start(self, plan: ExecutionPlan, targets: Mapping[str, Target],
              credential_id: str | None, login: str | None) -> Execution:
        """Record the graph execution and start driving it (its entry steps at once)."""
        for step in plan.steps:  # a movement that cannot be done is refused now
            mover = self._mover(step.site) if step.movement else None
            if mover is not None:
                mover.check(plan, step)
        entry_site = plan.steps[0].site
        execution = self.store.create(plan.workflow_id, plan.values, entry_site,
                                      credential_id, login=login, step_sites=plan.sites)
        self._drive(execution, plan, dict(targets))
        return self.store.get(execution.id)

    def _drive(self, execution: Execution, plan: ExecutionPlan,
               targets: dict[str, Target]) -> None:
        folder = self.runs_dir / execution.id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / EVENT_LOG
        if execution.event_log is None:
            self.store.set_event_log(execution.id, str(path))
        graph = _Graph(execution.id, plan, execution.credential_id, targets,
                       EventStream.resume(execution.id, path))
        self._resume_readers(graph, path)
        with self._lock:
            self._graphs[execution.id] = graph
        graph.thread = threading.Thread(target=self._run, args=(graph,), daemon=True,
                                        name=f"eflows-graph-{execution.id[:8]}")
        graph.thread.start()

    @staticmethod
    def _resume_readers(graph: _Graph, path: Path) -> None:
        """Where each step's copy stopped, and what was last said of each step."""
        copied: dict[str, int] = {}
        for event in read_events(path) if path.is_file() else []:
            if event.get("type") == "step":
                graph.reported[event["step"]] = event["state"]
            elif "step" in event and "step_seq" in event:
                copied[event["step"]] = int(event["step_seq"])
        graph.readers = {name: EventLogReader("", seq) for name, seq in copied.items()}

    def recover(self, executions: Sequence[Execution], plans: Callable[[Execution],
                                                                         ExecutionPlan]) -> None:
        """Drive again the graph executions an earlier process left (their running steps
        are re-attached by their executors)."""
        for execution in executions:
            if execution.id in self._graphs:
                continue
            try:
                self._drive(execution, plans(execution), {})
            except Exception as error:
                log.exception("eflows: cannot drive graph execution %s again", execution.id)
                with contextlib.suppress(ConflictError):
                    self.store.set_state(execution.id, ExecutionState.FAILED,
                                         "re-attach failed", error=str(error))

    # ---- the loop ----------------------------------------------------------------------

    def _run(self, graph: _Graph) -> None:
        try:
            while not self._closed.is_set():
                if self._step(graph):
                    return
                self._closed.wait(self.interval)
        except Exception as error:
            log.exception("eflows: graph execution %s failed", graph.execution_id)
            with contextlib.suppress(ConflictError):
                self.store.set_state(graph.execution_id, ExecutionState.FAILED,
                                     "driving the steps failed", error=f"{error}")
        finally:
            with self._lock:
                self._graphs.pop(graph.execution_id, None)
            graph.log.close()

    def _step(self, graph: _Graph) -> bool:
        """One round: copy events, report steps, cancel or start steps; True once over."""
        parent = self.store.get(graph.execution_id)
        if parent.finished:
            return True
        children = {c.step: c for c in self.store.steps(graph.execution_id) if c.step}
        self._copy_events(graph, children)
        ended = {n for n, c in children.items()
                 if c.state in (ExecutionState.FAILED, ExecutionState.CANCELLED)}
        blocked = successors(graph.deps, ended)
        cancelling = parent.state == ExecutionState.CANCELLING
        if cancelling:
            self._cancel_steps(graph, children)
        else:
            self._resume_copies(graph, children)
            done = {n for n, c in children.items() if c.state == ExecutionState.DONE}
            for step in graph.plan.ready(done):
                if step.name not in children and step.name not in blocked:
                    children[step.name] = self._start_step(graph, step, children)
            if parent.state == ExecutionState.QUEUED and children:
                self.store.set_state(graph.execution_id, ExecutionState.RUNNING,
                                     f"{len(children)} step(s) started",
                                     only_from=ExecutionState.QUEUED)
        for name, child in children.items():
            self._report(graph, name, child.state.value, child)
        unstarted = [s.name for s in graph.plan.steps if s.name not in children]
        if not all(c.finished for c in children.values()):
            return False
        if not cancelling and not all(n in blocked for n in unstarted):
            return False
        self._copy_events(graph, {n: self.store.get(c.id) for n, c in children.items()})
        for name in unstarted:
            why = "the execution was cancelled" if cancelling else \
                "a step it waits for did not succeed"
            self._report(graph, name, CANCELLED, None, why)
        self._finish(graph, children, cancelling)
        return True

    def _start_step(self, graph: _Graph, step: StepPlan,
                    children: dict[str, Execution]) -> Execution:
        plan = graph.plan
        if step.copy_of is not None:
            return self._start_copy(graph, step, children)
        if step.movement is not None:
            return self._start_movement(graph, step, children)
        earlier = ancestors(graph.deps, step.name)
        dirs = {step_dir_key(a): self.step_dir(children[a]) for a in earlier if a in children}
        for copy in plan.steps:  # a directory copied to this step's site: read the copy
            if copy.copy_of and copy.site == step.site and copy.name in earlier and \
                    copy.name in children:
                dirs[step_dir_key(copy.copy_of)] = self.step_dir(children[copy.name])
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

    def _record_own(self, graph: _Graph, step: StepPlan) -> Execution:
        """The record of a step this process does itself (a copy, a movement)."""
        target = graph.targets.get(step.site)
        return self.store.create(graph.plan.workflow_id, graph.plan.values, step.site,
                                 graph.credential_id, login=target.login if target else None,
                                 parent_id=graph.execution_id, step=step.name)

    def _start_copy(self, graph: _Graph, step: StepPlan,
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

    def _mover(self, site: str) -> StepMover | None:
        """The movement steps of ``site``'s executor (None: it does none)."""
        return getattr(self._router().for_site(site), "movements", None)

    def _start_movement(self, graph: _Graph, step: StepPlan,
                        children: dict[str, Execution]) -> Execution:
        child = self._record_own(graph, step)
        mover = self._mover(step.site)
        if mover is None:
            return self.store.set_state(
                child.id, ExecutionState.FAILED, "the step could not start",
                error=f"the executor of site {step.site!r} does no data movement "
                      f"{step.movement!r} as a step")
        self._move(mover, graph, step, child, children)
        return self.store.get(child.id)

    def _move(self, mover: StepMover, graph: _Graph, step: StepPlan, child: Execution,
              children: Mapping[str, Execution]) -> None:
        job = children.get(step.job or "") if step.stages_out else None
        target = graph.targets.get(step.site)
        mover.start(child, graph.plan, step, self.step_dir(job) if job else None,
                    target.answers if target is not None else None)

    def _resume_copies(self, graph: _Graph, children: Mapping[str, Execution]) -> None:
        """A copy or movement an earlier process was making when it stopped: made again
        (a copy keeps the files it checked; a movement resumes from its spool and .part)."""
        copier = self._copier()
        steps = {s.name: s for s in graph.plan.steps}
        for name, child in children.items():
            moving = steps.get(name) if is_movement_step(name) else None
            if moving is not None and not child.finished:
                mover = self._mover(moving.site)
                if mover is not None and not mover.running(child.id):
                    self._move(mover, graph, moving, child, children)
                continue
            step = steps.get(name) if is_copy_step(name) else None
            if step is None or child.finished or copier is None or copier.running(child.id):
                continue
            source = children.get(step.copy_of or "")
            if source is not None:
                copier.start(child, source, *self._copy_ends(step, source))

    def _copy_ends(self, step: StepPlan, source: Execution) -> tuple[str, str | None]:
        """What a copy step reads and where it writes: the paths a DLS SSH2SSH node names
        (relative ones from the login's home), else the source step's run directory into
        the copy's own run directory (``None``)."""
        if step.copy_paths:
            return step.copy_paths[0], step.copy_paths[1]
        return self.step_dir(source), None

    def step_dir(self, child: Execution) -> str:
        """The run directory of a step on its site (``${steps.<step>.dir}``)."""
        if child.event_log:
            for event in read_events(child.event_log):
                info = event.get("info") or {}
                if event.get("type") == "stage" and info.get("run_dir"):
                    return str(info["run_dir"])
        return str(self.runs_dir / child.id)  # a local step runs in its run folder

    def _copy_events(self, graph: _Graph, children: Mapping[str, Execution]) -> None:
        for name, child in children.items():
            if not child.event_log:
                continue
            reader = graph.readers.get(name)
            if reader is None or str(reader.path) != child.event_log:
                reader = EventLogReader(child.event_log, reader.last_seq if reader else 0)
                graph.readers[name] = reader
            for event in reader.poll():
                fields = {k: v for k, v in event.items()
                          if k not in ("v", "seq", "run", "ts", "type")}
                fields.update(step=name, step_seq=int(event["seq"]))
                graph.log.emit(str(event["type"]), ts=event.get("ts"), **fields)

    def _report(self, graph: _Graph, name: str, state: str, child: Execution | None,
                detail: str | None = None) -> None:
        if graph.reported.get(name) == state:
            return
        graph.reported[name] = state
        step = graph.plan.step(name)
        graph.log.emit("step", step=name, state=state, site=step.site,
                       execution=child.id if child else None,
                       job_id=child.remote_job_id if child else None,
                       detail=detail or (child.error.splitlines()[0][:300]
                                         if child and child.error else None))

    def _cancel_steps(self, graph: _Graph, children: Mapping[str, Execution]) -> None:
        for name, child in children.items():
            if child.finished or name in graph.cancel_sent:
                continue
            graph.cancel_sent.add(name)
            copier = self._copier() if is_copy_step(name) else None
            mover = self._mover(child.site) if is_movement_step(name) else None
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

    def _finish(self, graph: _Graph, children: Mapping[str, Execution],
                cancelling: bool) -> None:
        final = {n: self.store.get(c.id) for n, c in children.items()}
        if cancelling:
            self._end(graph, ExecutionState.CANCELLED, "every step stopped")
            return
        failed = [n for n, c in final.items() if c.state != ExecutionState.DONE]
        outputs: dict[str, Any] = {}
        for child in final.values():
            outputs.update(child.outputs)
        self.store.set_outputs(graph.execution_id, outputs)
        if not failed and len(final) == len(graph.plan.steps):
            self._end(graph, ExecutionState.DONE, f"{len(final)} step(s) done")
            return
        errors = "\n".join(f"step {n} {final[n].state.value}: {final[n].error or ''}".strip()
                           for n in failed)
        self._end(graph, ExecutionState.FAILED,
                  f"step(s) {', '.join(failed)} did not succeed", errors)

    def _end(self, graph: _Graph, state: ExecutionState, detail: str,
             error: str | None = None) -> None:
        """The graph's own last event (a step's ``run`` events carry ``step``), written
        before the record ends: a follower that sees the end has read it."""
        graph.log.emit("run", state=state.value, error=error)
        graph.log.flush()
        self.store.set_state(graph.execution_id, state, detail, error=error)

    # ---- asking ------------------------------------------------------------------------

    def steps(self, execution: Execution, plan: ExecutionPlan) -> list[StepStatus]:
        children = {c.step: c for c in self.store.steps(execution.id) if c.step}
        result = []
        for step in plan.steps:
            child = children.get(step.name)
            state = child.state.value if child else (
                CANCELLED if execution.finished else PENDING)
            result.append(StepStatus(step.name, step.site, step.depends_on, state,
                                     child.id if child else None,
                                     child.remote_job_id if child else None,
                                     child.error if child else None))
        return result

    def shutdown(self, timeout: float | None = None) -> None:
        """Stop driving (steps go on as their executors decide; the next process drives)."""
        self._closed.set()
        with self._lock:
            graphs = list(self._graphs.values())
        for graph in graphs:
            if graph.thread is not None:
                graph.thread.join(timeout if timeout is not None else 5.0)


__all__ = ["PENDING", "StepCopier", "StepGraphs", "StepMover", "StepStatus"]
