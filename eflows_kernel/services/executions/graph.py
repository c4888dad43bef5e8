"""Step graphs: an execution whose steps run as executions of their own, in DAG order.

Each step is a child execution (``parent_id`` + ``step``) that the executor of its site
runs exactly as it runs any execution: its own state, job id, event log and logs, and
re-attached after a restart by that executor. :class:`StepGraphs` drives the graph
execution: it starts the steps whose predecessors are done (independent ones at once),
never starts the successors of a failed step (they end ``cancelled``), cancels every
running step when the execution is cancelled, and copies every step's events into the
execution's one gap-free log (``graph_run.py``), beside ``step`` events saying how each
step moves on. All of it is rebuilt from the records and the logs, so a restarted
server goes on where it was.

Copy steps (``plan.py:copy_step_name``) and movement steps
(``plan.py:movement_step_name``) are child executions too, which this process starts
(again, after a restart) through the server's copier and the sites' movers; who does
which kind of step, and how, is ``step_runner.py``. This module decides when: the
final sync of a stage-out synced ``every`` period (``StepPlan.final_sync``) also follows
a job that ran and failed, so the partial results its syncs were bringing out arrive
complete.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eflows_kernel.events import EVENT_LOG, EventStream
from eflows_kernel.services.errors import ConflictError
from eflows_kernel.services.executions.executor import Target
from eflows_kernel.services.executions.graph_run import GraphRun
from eflows_kernel.services.executions.plan import ExecutionPlan, StepPlan
from eflows_kernel.services.executions.router import ExecutorRouter
from eflows_kernel.services.executions.step_runner import StepCopier, StepRunner
from eflows_kernel.services.executions.store import Execution, ExecutionStore
from eflows_kernel.services.lifecycle import ExecutionState
from eflows_kernel.services.workflows.step_graph import successors
from eflows_kernel.services.workflows.step_outputs import output_path

log = logging.getLogger(__name__)

PENDING = "pending"  # a step not started yet (it has no record)
CANCELLED = ExecutionState.CANCELLED.value


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
    # its declared outputs (a copy: those it brings) -> where each is on its site (below
    # its run directory once it has one; relative to it before)
    outputs: dict[str, str] = field(default_factory=dict)


class StepGraphs:
    """Drives the graph executions of one process, one thread each."""

    def __init__(self, store: ExecutionStore, router: Callable[[], ExecutorRouter],
                 runs_dir: Path, interval: float = 0.2,
                 copier: Callable[[], StepCopier | None] | None = None) -> None:
        self.store = store
        self.runs_dir = Path(runs_dir)
        self.runner = StepRunner(store, router, copier or (lambda: None), self.runs_dir)
        self.interval = interval
        self._graphs: dict[str, GraphRun] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()

    # ---- starting ----------------------------------------------------------------------

    def start(self, plan: ExecutionPlan, targets: Mapping[str, Target],
              credential_id: str | None, login: str | None) -> Execution:
        """Record the graph execution and start driving it (its entry steps at once)."""
        for step in plan.steps:  # a movement that cannot be done is refused now
            mover = self.runner.mover(step.site) if step.movement else None
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
        graph = GraphRun(execution.id, plan, execution.credential_id, targets,
                         EventStream.resume(execution.id, path))
        graph.resume_log(path)
        with self._lock:
            self._graphs[execution.id] = graph
        graph.thread = threading.Thread(target=self._run, args=(graph,), daemon=True,
                                        name=f"eflows-graph-{execution.id[:8]}")
        graph.thread.start()

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

    def _run(self, graph: GraphRun) -> None:
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

    def _step(self, graph: GraphRun) -> bool:
        """One round: copy events, report steps, cancel or start steps; True once over."""
        parent = self.store.get(graph.execution_id)
        if parent.finished:
            return True
        children = {c.step: c for c in self.store.steps(graph.execution_id) if c.step}
        graph.copy_events(children)
        ended = {n for n, c in children.items()
                 if c.state in (ExecutionState.FAILED, ExecutionState.CANCELLED)}
        # A job that ran and failed still gets the final sync of its periodic stage-outs
        # (what it wrote before failing); one that never ran on its site wrote nothing.
        ran = {n for n, c in children.items()
               if c.state == ExecutionState.FAILED and c.remote_job_id}
        blocked = successors(graph.deps, ended) - {
            s.name for s in graph.plan.steps if s.final_sync and s.job in ran}
        cancelling = parent.state == ExecutionState.CANCELLING
        if cancelling:
            self.runner.cancel(graph, children)
        else:
            self.runner.resume(graph, children)
            done = {n for n, c in children.items() if c.state == ExecutionState.DONE}
            for step in graph.plan.ready(done, ran):
                if step.name not in children and step.name not in blocked:
                    children[step.name] = self.runner.start(graph, step, children)
            if parent.state == ExecutionState.QUEUED and children:
                self.store.set_state(graph.execution_id, ExecutionState.RUNNING,
                                     f"{len(children)} step(s) started",
                                     only_from=ExecutionState.QUEUED)
        for name, child in children.items():
            graph.report(name, child.state.value, child)
        unstarted = [s.name for s in graph.plan.steps if s.name not in children]
        if not all(c.finished for c in children.values()):
            return False
        if not cancelling and not all(n in blocked for n in unstarted):
            return False
        graph.copy_events({n: self.store.get(c.id) for n, c in children.items()})
        for name in unstarted:
            why = "the execution was cancelled" if cancelling else \
                "a step it waits for did not succeed"
            graph.report(name, CANCELLED, None, why)
        self._finish(graph, children, cancelling)
        return True

    def _finish(self, graph: GraphRun, children: Mapping[str, Execution],
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

    def _end(self, graph: GraphRun, state: ExecutionState, detail: str,
             error: str | None = None) -> None:
        """The graph's own last event (a step's ``run`` events carry ``step``), written
        before the record ends: a follower that sees the end has read it."""
        graph.log.emit("run", state=state.value, error=error)
        graph.log.flush()
        self.store.set_state(graph.execution_id, state, detail, error=error)

    # ---- asking ------------------------------------------------------------------------

    def step_dir(self, child: Execution) -> str:
        """The run directory of a step on its site (``${steps.<step>.dir}``)."""
        return self.runner.step_dir(child)

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
                                     child.error if child else None,
                                     self.outputs_of(step, child)))
        return result

    def outputs_of(self, step: StepPlan, child: Execution | None) -> dict[str, str]:
        """Where ``step``'s declared outputs are (a copy's: those it brings), for a user:
        full paths on its site once it ran (the driver's own ``${steps.<s>.outputs.<o>}``
        of it), relative to its run directory before."""
        if step.movement or step.copy_paths:
            return {}
        declared = step.step.outputs if step.copy_of is None else {
            o: step.step.outputs[o] for o in step.copy_outputs or step.step.outputs
            if o in step.step.outputs}
        if not declared or child is None or child.state != ExecutionState.DONE:
            return dict(declared)
        run_dir = self.runner.step_dir(child)
        return {name: output_path(run_dir, path) for name, path in declared.items()}

    def shutdown(self, timeout: float | None = None) -> None:
        """Stop driving (steps go on as their executors decide; the next process drives)."""
        self._closed.set()
        with self._lock:
            graphs = list(self._graphs.values())
        for graph in graphs:
            if graph.thread is not None:
                graph.thread.join(timeout if timeout is not None else 5.0)


__all__ = ["PENDING", "StepGraphs", "StepStatus"]
