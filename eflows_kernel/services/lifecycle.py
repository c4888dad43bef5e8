"""The states an execution passes through, from queued to its end.

A vocabulary, not a service: the execution store records these states, the executors
move a run through them, and the batch-system clients (``hpc/slurm.py``) translate a
job's state into one of them. It sits at the bottom beside ``errors.py`` so that those
lower layers can speak it without knowing anything of executions.
"""

from __future__ import annotations

from enum import Enum


class ExecutionState(str, Enum):
    """Our states, finer than HPCWaaS's five (see ``executions.store.HPCWAAS_STATUS``)."""

    QUEUED = "queued"
    STAGING_IN = "staging-in"
    SUBMITTED = "submitted"
    RUNNING = "running"
    STAGING_OUT = "staging-out"
    DONE = "done"
    FAILED = "failed"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in FINISHED


FINISHED = frozenset({ExecutionState.DONE, ExecutionState.FAILED, ExecutionState.CANCELLED})
