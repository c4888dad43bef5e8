"""One remote execution as the server follows it: the record its steps share.

The pipeline (connect, environment, stage-in, submit: ``pipeline.py``), the follower
(``runs.py``), the finisher (``finish.py``) and the movements of its job each read and
move on the same :class:`Deployment`; they say what they did as ``stage`` events in the
execution's log, and a step before the job stops either cancelled or failed with a
message for the user. ``pipeline`` names them all too, as its callers know them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from eflows_kernel.events import EventStream
from eflows_kernel.services.deploy.staging import DataPlan
from eflows_kernel.services.errors import ServiceError
from eflows_kernel.services.hpc.connections import PooledConnection
from eflows_kernel.services.hpc.remote_events import RemoteEventTail
from eflows_kernel.services.hpc.transfer import UrlPolicy
from eflows_kernel.services.sites import Site
from eflows_kernel.services.transfers import DataLogistics
from eflows_kernel.services.workflows import Step, Workflow


class Cancelled(Exception):
    """The user cancelled before the job was submitted."""


class StepFailed(ServiceError):
    """A deployment step failed; the message is what the user reads."""


@dataclass
class Deployment:
    """Everything one remote execution needs while the server follows it."""

    execution_id: str
    site: Site
    credential_id: str | None
    workflow: Workflow
    step: Step  # the workflow's step this deployment runs
    plan: DataPlan | None
    arguments: list[str]
    application: tuple[str, str, str]  # (kind "local"/"cluster", path, path inside upload)
    log: EventStream  # the execution's one log: our stages, then the run's own events
    connection: PooledConnection
    tail_connection: PooledConnection
    run_dir: str = ""
    job_id: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    finalizing: bool = False
    cancel_sent: float = 0.0  # monotonic time the last scancel went out
    owner: Any = None  # the open lock file that makes this process the run's follower
    run_final: dict[str, Any] | None = None  # the run's final event, once seen
    missing_polls: int = 0
    queue: dict[str, str] | None = None  # what the scheduler last said (recorded on change)
    # its job's never-clearing pending reason said in the log (once: Slurm's main and
    # backfill schedulers give such a job alternating reasons)
    said_unrunnable: bool = False
    tail: RemoteEventTail | None = None
    stage: str = "connect"
    thread: threading.Thread | None = None
    url_policy: UrlPolicy | None = None  # what stage-in URLs (and their redirects) may be
    logistics: DataLogistics | None = None  # logins and spool for data services
    resume_from: str | None = None  # the run (same site) whose checkpoint this one copies
    links: tuple[str, ...] = ()  # run dirs of its stage-in steps, linked into its own
    # Stage-outs it syncs only while the job runs: their last sync is a step of its own.
    synced: tuple[str, ...] = ()


def stage(log: EventStream, name: str, state: str, detail: str | None = None,
          **info: Any) -> dict[str, Any]:
    """A ``stage`` event: a deployment step (connect, environment, stage-in...) moved on."""
    return log.emit("stage", stage=name, state=state, detail=detail, info=info or None)


__all__ = ["Cancelled", "Deployment", "StepFailed", "stage"]
