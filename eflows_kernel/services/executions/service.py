"""The executions service: the whole lifecycle of every execution, in one place.

The REST handlers, ``LocalClient`` and the CLI all come through here. A request is
checked once (workflow, credential, site, inputs), planned once (``planning.py``),
recorded, and its step handed to the executor of its site through the router; cancel,
logs, events and re-attaching after a restart go the same way. Executors never see a
request that this service has not checked, and never decide whether an execution
may still be cancelled.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from eflows_kernel.events import read_events
from eflows_kernel.services.errors import (
    ConflictError,
    NotFoundError,
    ServiceError,
    ValidationError,
)
from eflows_kernel.services.executions.executor import Target
from eflows_kernel.services.executions.follow import ExecutionFollower
from eflows_kernel.services.executions.graph import StepGraphs, StepStatus
from eflows_kernel.services.executions.logs import check_log_range
from eflows_kernel.services.executions.plan import ExecutionPlan, SiteBinding, driven_by_graph
from eflows_kernel.services.executions.planning import bind_sites, plan_execution, replan
from eflows_kernel.services.executions.router import ExecutorRouter
from eflows_kernel.services.executions.step_runner import StepCopier
from eflows_kernel.services.executions.store import LOCAL_SITE, Execution, ExecutionStore
from eflows_kernel.services.lifecycle import ExecutionState
from eflows_kernel.services.state import Page
from eflows_kernel.services.workflows import WorkflowRegistry

log = logging.getLogger(__name__)

CredentialLookup = Callable[[str], object]  # raises NotFoundError for an unknown id


class ExecutionsService:
    """Submit, read, follow, cancel and re-attach executions of registered workflows.

    ``executors``: the router, or a function making it on first use (making the
    executors re-attaches to the runs an earlier process left, which reading records
    does not need). ``credentials``: looks a credential id up; without it, ids are
    recorded as given (unit tests of an executor). ``copier``: makes the copy steps of
    step graphs (a step's directory to another site, ``step_runner.py``); None: none is made.
    """

    def __init__(self, store: ExecutionStore, registry: WorkflowRegistry,
                 executors: ExecutorRouter | Callable[[], ExecutorRouter],
                 credentials: CredentialLookup | None = None,
                 runs_dir: Path | None = None,
                 copier: Callable[[], StepCopier | None] | None = None) -> None:
        self.store = store
        self.registry = registry
        self.credentials = credentials
        self._make_router = (lambda: executors) if isinstance(executors, ExecutorRouter) \
            else executors
        self._router: ExecutorRouter | None = None
        self._lock = threading.Lock()
        self._closed = False
        # A step graph's folder (its one event log) is beside its steps' run folders.
        self.graphs = StepGraphs(store, lambda: self.router, Path(
            runs_dir) if runs_dir else Path(tempfile.gettempdir()) / "eflows-graphs",
            copier=copier)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r})"

    @property
    def started(self) -> bool:
        """The executors exist (they are made by the first call that needs them)."""
        return self._router is not None

    @property
    def router(self) -> ExecutorRouter:
        with self._lock:
            if self._router is None:
                router = self._make_router()
                # A step re-attached below is planned as its graph was (its sites and
                # their places), which asks the sites' executors: the router is ours now.
                router.plan_with(self._plan_of)
                self._router = router
                running = self.store.running()
                try:  # the steps of graphs too: each is an execution of its site's executor
                    # (but a copy or movement step, which the graph's driver makes again)
                    router.recover([e for e in running
                                    if not e.is_graph and not driven_by_graph(e.step)])
                except Exception:  # a broken old run must not keep the services from starting
                    log.exception("eflows: re-attaching to unfinished executions failed")
                self.graphs.recover([e for e in running if e.is_graph], self._plan_of)
            return self._router

    def _plan_of(self, execution: Execution) -> ExecutionPlan:
        """The plan of a recorded execution (a graph's for its steps), as it was made at
        submit: its copy steps and movements too, the sites' places asked of their
        executors again. The graph's driver and an executor re-attaching to a step of it
        after a restart both plan with this (``router.plan_with``)."""
        workflow = self.registry.get(execution.workflow_id).workflow
        router = self._router or self.router  # (made already while it recovers)

        def place_of(name: str) -> str | None:
            try:
                executor = router.for_site(name)
                # From the site's configuration where the executor tells it so: ``target``
                # also checks that one can log in now, and a login that asks for a
                # password has no session after a restart (its place is known all the same).
                place = getattr(executor, "place", None)
                if place is not None:
                    return place(name)  # type: ignore[no-any-return]
                return executor.target(name, execution.credential_id, None, {}).place
            except Exception:  # a site removed since: its steps fail when they start
                return None

        return replan(execution, workflow, place_of)

    # ---- submitting --------------------------------------------------------------------

    def submit(self, workflow_id: str, inputs: Mapping[str, Any] | None = None,
               site: SiteBinding = LOCAL_SITE, credential_id: str | None = None,
               login: str | None = None, *, password: str | None = None,
               one_time_code: str | None = None,
               resume_from: str | None = None) -> Execution:
        """Check the request, record the execution and start its first step.

        Everything that can be refused (unknown workflow: 404; unknown credential, a site
        that cannot take it, bad inputs, an application that is not there: 400 naming
        the field) is refused before the record is created, so a rejected request leaves
        nothing behind. ``password`` / ``one_time_code``: for a site whose login asks;
        they open the site's connection once and are never stored.

        ``site``: one site for every step, or ``{ENVIRONMENT: SITE}`` binding each
        environment role of the workflow's steps (an unbound role: 400 on ``site``). A
        workflow of several steps runs as a step graph (``graph.py``). ``resume_from``:
        the run whose checkpoint this one starts from (see :meth:`resume`).
        """
        if self._closed:
            raise ConflictError("the executions service is shut down")
        registered = self.registry.get(workflow_id)
        self._check_credential(credential_id)
        answers = {k: v for k, v in (("password", password), ("otp", one_time_code)) if v}
        bound = bind_sites(registered.workflow, site)
        names = list(dict.fromkeys(bound.values())) or [site if isinstance(site, str) else ""]
        targets: dict[str, Target] = {}
        for name in names:  # every site checked before anything is recorded
            targets[name] = self.router.for_site(name).target(name, credential_id, login,
                                                              answers)
        plan = plan_execution(registered.id, registered.workflow, dict(inputs or {}),
                              {step: targets[name].site for step, name in bound.items()}
                              if bound else targets[names[0]].site,
                              {t.site: t.place for t in targets.values()})
        if plan.is_graph:
            by_site = {t.site: t for t in targets.values()}
            return self.graphs.start(plan, by_site, credential_id,
                                     by_site[plan.steps[0].site].login)
        target = targets[names[0]]

        def record() -> Execution:
            return self.store.create(registered.id, plan.values, target.site, credential_id,
                                     login=target.login, resumed_from=resume_from)

        return self.router.for_site(target.site).start(plan, plan.entry, target, record)

    def checkpoint_tasks(self, execution_id: str) -> int:
        """How many tasks a finished run's checkpoint holds: a re-run can resume from it
        when there is at least one (0 for runs still going, graphs, runs of steps that
        ask for no checkpointing)."""
        execution = self.store.get(execution_id)
        if not execution.finished or execution.is_graph:
            return 0
        return self.router.for_execution(execution).checkpoint_tasks(execution)

    def resume(self, execution_id: str, *, password: str | None = None,
               one_time_code: str | None = None) -> Execution:
        """Run a finished execution again (same workflow, inputs, site, credential),
        starting from its checkpoint: the tasks it saved are restored, not run again.

        Refused (409) while the run goes on or when it left no checkpoint, so a "resume"
        never silently starts from scratch.
        """
        execution = self.store.get(execution_id)
        if not execution.finished:
            raise ConflictError(f"execution {execution.id} is still {execution.state.value}:"
                                " resume it once it has ended (or cancel it first)",
                                id=execution.id, state=execution.state.value)
        if execution.is_graph:
            raise ConflictError(f"execution {execution.id} is a step graph; resuming one "
                                "from its steps' checkpoints is not supported: re-run it",
                                id=execution.id)
        if self.checkpoint_tasks(execution.id) == 0:
            raise ConflictError(f"execution {execution.id} left no checkpoint to resume from"
                                " (its step asks for none, e.g. extra_compss_opts "
                                "'--checkpoint=FT --checkpoint_params=finished.tasks:1', or"
                                " no task finished): re-run it instead", id=execution.id)
        return self.submit(execution.workflow_id, execution.inputs, execution.site,
                           execution.credential_id, execution.login, password=password,
                           one_time_code=one_time_code, resume_from=execution.id)

    def _check_credential(self, credential_id: str | None) -> None:
        if credential_id is None or self.credentials is None:
            return
        try:
            self.credentials(credential_id)
        except NotFoundError:
            message = f"no credential with id {credential_id!r}"
            raise ValidationError(message, fields={"credential_id": message}) from None

    # ---- reading -----------------------------------------------------------------------

    def get(self, execution_id: str) -> Execution:
        return self.store.get(execution_id)

    def list(self, state: ExecutionState | str | list[ExecutionState | str] | None = None,
             workflow_id: str | None = None, site: str | None = None, limit: int = 50,
             offset: int = 0) -> Page[Execution]:
        return self.store.list(state=state, workflow_id=workflow_id, site=site, limit=limit,
                               offset=offset)

    def logs(self, execution_id: str, offset: int = 0,
             size: int | None = None, step: str | None = None) -> tuple[str, int]:
        """Output from byte ``offset`` (at most ``size`` bytes) and the offset to ask next.

        Incremental so a client polling a running execution only gets new output; a
        remote run's output comes from its site while it runs. A step graph's output is
        its steps' (``step``: one step's, live; without it, the finished steps' outputs
        one after the other, each under a header).
        """
        check_log_range(offset, size)
        execution = self.store.get(execution_id)
        if execution.is_graph:
            children = self.store.steps(execution.id)
            if step is None:
                return self._graph_logs(children, offset, size)
            found = [c for c in children if c.step == step]
            if not found:
                message = f"execution {execution.id} has no started step named {step!r}"
                raise ValidationError(message, fields={"step": message})
            execution = found[0]
        return self.router.for_execution(execution).logs(execution, offset, size)

    def _graph_logs(self, children: list[Execution], offset: int,
                    size: int | None) -> tuple[str, int]:
        """The finished steps' outputs in the order they started (append-only: a step's
        output joins once it and every step started before it have ended)."""
        text = ""
        for child in children:
            if not child.finished:
                break
            body, _ = self.router.for_execution(child).logs(child, 0, None)
            text += f"==> step {child.step} ({child.site}, {child.state.value}) <==\n{body}"
            if body and not body.endswith("\n"):
                text += "\n"
        data = text.encode()
        chunk = data[offset:offset + size if size is not None else None]
        return chunk.decode(errors="ignore"), offset + len(chunk)

    def steps(self, execution_id: str) -> list[StepStatus]:
        """Each step of the execution: its site, what it waits for, state, job id, error."""
        execution = self.store.get(execution_id)
        if not execution.is_graph:
            outputs: dict[str, str] = {}
            # where its declared outputs are (a workflow removed since: not said)
            with contextlib.suppress(ServiceError):
                outputs = self.graphs.outputs_of(self._plan_of(execution).entry, execution)
            return [StepStatus(execution.step or "main", execution.site, (),
                               execution.state.value, execution.id, execution.remote_job_id,
                               execution.error, outputs)]
        return self.graphs.steps(execution, self._plan_of(execution))

    def events(self, execution_id: str, from_seq: int = 0) -> list[dict[str, Any]]:
        """The execution's events with ``seq > from_seq`` (complete lines only)."""
        execution = self.store.get(execution_id)
        return read_events(execution.event_log, from_seq) if execution.event_log else []

    def follower(self, execution_id: str, from_seq: int = 0) -> ExecutionFollower:
        """A follower of the execution's events after ``from_seq`` (404 if unknown)."""
        self.store.get(execution_id)
        return ExecutionFollower(self.store, execution_id, from_seq)

    def follow(self, execution_id: str, from_seq: int = 0,
               interval: float = 0.3) -> Iterator[dict[str, Any]]:
        """Every event after ``from_seq`` as it happens, until the execution has ended."""
        return self.follower(execution_id, from_seq).follow(interval)

    def wait(self, execution_id: str, timeout: float, interval: float = 0.1) -> Execution:
        """The execution once finished, or as it is when ``timeout`` seconds have passed."""
        return self.store.wait(execution_id, timeout, interval)

    # ---- changing ----------------------------------------------------------------------

    def cancel(self, execution_id: str) -> Execution:
        """Ask the execution to stop: ``cancelling`` now, ``cancelled`` once it has.

        Cancelling twice is harmless; a finished execution is a ``ConflictError``.
        """
        execution = self.store.get_unfinished(execution_id)
        if execution.is_graph:  # its driver cancels every running step
            if execution.state == ExecutionState.CANCELLING:
                return execution
            self.router  # noqa: B018 - whoever drives the graph (made with the router)
            return self.store.set_state(execution.id, ExecutionState.CANCELLING,
                                        "cancel requested")
        return self.router.for_execution(execution).cancel(execution)

    # ---- process life ------------------------------------------------------------------

    def recover(self) -> None:
        """Hand every unfinished execution to its executor again (they are idempotent)."""
        self.router.recover(self.store.running())

    def shutdown(self, timeout: float | None = None, cancel: bool = True) -> None:
        """This process stops; ``cancel=False`` leaves local runs for the next one too."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            router = self._router
        self.graphs.shutdown(timeout)
        if router is not None:
            router.shutdown(timeout, cancel=cancel)


__all__ = ["ExecutionsService"]
