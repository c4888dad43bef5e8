"""The one protocol every executor speaks: run a step of an execution on the sites it serves.

The executions service owns the lifecycle (validate, look up, record, cancel, finish,
re-attach) and reaches executors only through the router (``router.py``); an executor
knows how to run a step on its kind of site (this host, a site over SSH with Slurm or
without a scheduler, a site's COMPSs runtime) and nothing of HTTP or clients.
A new kind of site (a scheduler on the server's own host, say) is a new executor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from eflows_kernel.services.executions.plan import ExecutionPlan, StepPlan
from eflows_kernel.services.executions.store import Execution

Record = Callable[[], Execution]  # records the execution (queued) and returns it


@dataclass(frozen=True)
class Target:
    """Where a step runs, as its executor resolved the site a user named."""

    site: str  # the site's name, as the execution records it ("local": this host)
    login: str | None  # the account the step runs as, as the execution records it
    site_record: Any = None  # the executor's own view of the site (a ``sites.Site``)
    # A password / one-time code for a login that asks: offered once to open the site's
    # connection, never stored (and never shown in a repr).
    answers: Mapping[str, str] = field(default_factory=dict, repr=False)
    # Whose files a step there sees (login@host:port; None: not known). Two steps whose
    # places differ cannot read each other's run directories (``${steps.<s>.dir}``).
    place: str | None = None


@runtime_checkable
class Executor(Protocol):
    """Runs steps of executions on the sites it serves, and follows them to their end.

    An executor moves the execution record through its states (``lifecycle.py``) as the
    step progresses, and appends the step's events to the execution's one event log.
    """

    def target(self, site: str, credential_id: str | None, login: str | None,
               answers: Mapping[str, str]) -> Target:
        """The site a step would run on, or a ``ValidationError`` naming what to fix
        (``fields``: ``site``, ``credential_id``, ``login``). Nothing is recorded."""

    def start(self, plan: ExecutionPlan, step: StepPlan, target: Target,
              record: Record) -> Execution:
        """Refuse what cannot run (``ValidationError``, nothing recorded); else call
        ``record`` once (under whatever lock keeps a cancel from slipping in before the
        step has started), start the step in the background, return the execution."""

    def cancel(self, execution: Execution) -> Execution:
        """Ask the step to stop: ``cancelling`` now, ``cancelled`` once it has stopped.
        Asking twice is harmless; a finished execution is a ``ConflictError``."""

    def logs(self, execution: Execution, offset: int, size: int | None) -> tuple[str, int]:
        """The step's output from byte ``offset`` (at most ``size`` bytes), and the offset
        to ask next (never a cut character)."""

    def checkpoint_tasks(self, execution: Execution) -> int:
        """How many tasks the finished step's checkpoint holds (0: nothing to resume
        from). A re-run resuming from it starts with a copy of that checkpoint
        (``execution.resumed_from`` names the run it comes from)."""

    def recover(self, executions: Sequence[Execution]) -> None:
        """At start-up: take over these unfinished executions an earlier process left."""

    def shutdown(self, timeout: float | None = None, cancel: bool = True) -> None:
        """This process stops. ``cancel``: end the runs that cannot outlive it (local ones);
        runs that do (remote ones) are only no longer followed, for the next process."""


__all__ = ["Executor", "Record", "Target"]
