"""Executions: every run of a registered workflow, its record, and the executors behind it.

``service`` owns the lifecycle (submit, cancel, logs, events, re-attach) and is the one
entry point; ``plan`` is what an execution runs (its steps), ``planning`` makes it (with
``plan_movements`` and ``plan_copies``, the steps it adds) and ``rendering`` fills a
step's templates as it starts; ``graph`` drives an execution of several steps (with
``step_runner``, who does each step, and ``graph_run``, the graph's one log);
``executor`` the protocol every executor speaks and ``router`` the way to the executor
of a site; ``store`` keeps the records (state history, job id, outputs, event log);
``follow`` follows a run's events; ``local`` (with ``processes`` and ``logs``) runs a
step on this host.
"""

from eflows_kernel.services.executions.store import (
    HPCWAAS_STATUS,
    LOCAL_SITE,
    Execution,
    ExecutionStore,
    HPCWaaSStatus,
    StateChange,
)
from eflows_kernel.services.lifecycle import FINISHED, ExecutionState

__all__ = [
    "FINISHED",
    "HPCWAAS_STATUS",
    "LOCAL_SITE",
    "Execution",
    "ExecutionState",
    "ExecutionStore",
    "HPCWaaSStatus",
    "StateChange",
]
