"""The only way to an executor: by the site a step runs on.

``local`` runs here; every other site name is a configured site the remote executor
deploys to. The local-or-remote choice is made here and nowhere else; a new kind of
site (a scheduler on the server's own host, a read-only site an operator defines)
gets its executor by adding a rule here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from eflows_kernel.services.errors import ConflictError, ValidationError
from eflows_kernel.services.executions.executor import Executor
from eflows_kernel.services.executions.plan import ExecutionPlan
from eflows_kernel.services.executions.store import LOCAL_SITE, Execution


class ExecutorRouter:
    """The executors of one process, found by site name."""

    def __init__(self, local: Executor | None = None, remote: Executor | None = None) -> None:
        self.local = local
        self.remote = remote

    def __repr__(self) -> str:
        return f"{type(self).__name__}(local={self.local!r}, remote={self.remote!r})"

    @property
    def executors(self) -> list[Executor]:
        return [e for e in (self.local, self.remote) if e is not None]

    def _find(self, site: str) -> Executor | None:
        return self.local if site == LOCAL_SITE else self.remote

    def for_site(self, site: str) -> Executor:
        """The executor of the site a user asked for (a ``ValidationError`` if none)."""
        executor = self._find(site) if isinstance(site, str) and site else None
        if executor is None:
            message = f"no site named {site!r} can run executions here"
            raise ValidationError(message, fields={"site": message})
        return executor

    def for_execution(self, execution: Execution) -> Executor:
        """The executor following ``execution`` (a ``ConflictError`` if none does here)."""
        executor = self._find(execution.site)
        if executor is None:
            raise ConflictError(f"execution {execution.id} runs on site {execution.site!r}, "
                                "which no executor of this process serves", id=execution.id)
        return executor

    def plan_with(self, plans: Callable[[Execution], ExecutionPlan]) -> None:
        """How a recorded execution was planned (the executions service's ``_plan_of``),
        for the executors that plan again a step they re-attach to (``plans``: their
        attribute): one planner for them and the graph's driver, so a step is planned
        with the sites and places its graph was triggered with."""
        for executor in self.executors:
            if hasattr(executor, "plans"):
                executor.plans = plans  # type: ignore[attr-defined]

    def recover(self, executions: Iterable[Execution]) -> None:
        """Hand each unfinished execution to the executor of its site."""
        unfinished = list(executions)
        for executor in self.executors:
            mine = [e for e in unfinished if self._find(e.site) is executor]
            if mine:
                executor.recover(mine)

    def shutdown(self, timeout: float | None = None, cancel: bool = True) -> None:
        for executor in self.executors:
            executor.shutdown(timeout, cancel=cancel)


__all__ = ["ExecutorRouter"]
