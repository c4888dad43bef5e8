"""Executions: every run of a registered workflow, its record, and the executors behind it.

``store`` keeps the records (state history, job id, outputs, event log); ``local`` runs
a workflow's step on this host; ``router`` finds the executor for a site.
"""

from eflows_kernel.services.executions.store import (
    HPCWAAS_STATUS,
    Execution,
    ExecutionStore,
    HPCWaaSStatus,
    StateChange,
)
from eflows_kernel.services.lifecycle import FINISHED, ExecutionState

__all__ = [
    "FINISHED",
    "HPCWAAS_STATUS",
    "Execution",
    "ExecutionState",
    "ExecutionStore",
    "HPCWaaSStatus",
    "StateChange",
]
