"""Event schema, version 1 (see ``docs/events.md``).

Events travel as plain dicts (cheap to build on the hot path, one JSON line each on
disk). The pydantic models below are the written contract: readers may validate with
:func:`validate_event`, and the test suite validates every event the engine emits, so
the code and the documentation cannot drift apart.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

SCHEMA_VERSION = 1


class EventType(str, Enum):
    TASK = "task"
    RUN = "run"
    LOG = "log"
    TRANSFER = "transfer"
    STAGE = "stage"
    STEP = "step"


class TaskState(str, Enum):
    PENDING = "pending"  # submitted, waiting for a dependency
    READY = "ready"  # all dependencies satisfied, waiting for a worker
    RUNNING = "running"  # executing on a worker (one attempt)
    DONE = "done"
    FAILED = "failed"  # an attempt or the task failed; see ``final``
    CANCELLED = "cancelled"  # will never run (group cancelled, predecessor failed...)


class RunState(str, Enum):
    STARTING = "starting"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_TASK_STATES = frozenset({TaskState.DONE.value, TaskState.CANCELLED.value})
"""States after which a task never changes again (``failed`` is terminal only if ``final``)."""


class _EventBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    v: Literal[1] = Field(description="Schema version.")
    seq: int = Field(ge=1, description="Gap-free sequence number within the run, from 1.")
    run: str = Field(description="Run identifier.")
    ts: float = Field(description="Unix time (seconds) at which the change happened.")
    step: str | None = Field(None, description="In a step graph's log: the step the event "
                             "belongs to.")
    step_seq: int | None = Field(None, ge=1, description="In a step graph's log: the event's "
                                 "seq in its step's own log.")


class TaskEvent(_EventBase):
    type: Literal["task"]
    task: int = Field(ge=1, description="Task id, unique within the run, from 1.")
    state: TaskState
    name: str | None = Field(None, description="Task function name (first event of a task).")
    deps: list[int] | None = Field(None, description="Ids of the tasks this one waits for.")
    groups: list[str] | None = Field(None, description="Task groups the task belongs to.")
    args: dict[str, str] | None = Field(None, description="Short repr of each argument.")
    attempt: int | None = Field(None, ge=1, description="Attempt number (running/failed/done).")
    worker: str | None = Field(None, description="Worker address that ran the attempt.")
    worker_name: str | None = Field(None, description="The worker as host/name (running).")
    started: float | None = Field(None, description="Attempt start (unix time).")
    ended: float | None = Field(None, description="Attempt end (unix time).")
    error: str | None = Field(None, description="Error text with traceback (failed).")
    final: bool | None = Field(
        None, description="For failed: true when no retry follows; the task is finished."
    )
    on_failure: str | None = Field(None, description="RETRY, FAIL, IGNORE or CANCEL_SUCCESSORS.")
    reason: str | None = Field(None, description="Why a task was cancelled.")
    stdout: str | None = Field(None, description="What the attempt printed (the end of it).")
    stderr: str | None = Field(None, description="What the attempt wrote to stderr (the end).")
    usage: dict[str, float] | None = Field(
        None, description="Worker process CPU (cpu_mean, cpu_max: % of a core) and memory "
        "(memory_max: bytes) during the attempt, from Dask's system monitor; samples.")
    priority: bool | None = None
    constraints: dict[str, float] | None = Field(None, description="computing_units, memory_size")
    restored: bool | None = Field(
        None, description="For done: the outputs came from a checkpoint of an earlier run; "
                          "the task did not run.")
    # HPC task types (@binary, @mpi, @mpmd_mpi, @multinode, @container): docs/events.md
    task_type: str | None = Field(
        None, description="First event: binary, mpi, python_mpi, mpmd_mpi, multinode, or "
        "python (a Python body with a container, prolog or epilog); absent for plain tasks.")
    processes: int | None = Field(None, ge=1, description="First event: MPI processes.")
    nodes: int | None = Field(None, ge=1, description="First event: nodes (slots) asked for.")
    container: dict[str, str] | None = Field(None, description="First event: engine, image.")
    hosts: list[str] | None = Field(
        None, description="running: the node of each worker the attempt holds.")
    command: list[str] | None = Field(
        None, description="done/failed: the command line the attempt ran (launcher first).")
    exit_value: int | None = Field(None, description="done/failed: its exit value.")


class RunEvent(_EventBase):
    type: Literal["run"]
    state: RunState
    app: str | None = Field(None, description="Application (script) being run.")
    error: str | None = None
    counts: dict[str, int] | None = Field(None, description="Tasks per state when the run ends.")
    info: dict[str, Any] | None = Field(None, description="Free-form details (cluster, args).")


class LogEvent(_EventBase):
    type: Literal["log"]
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"]
    message: str
    source: str | None = Field(None, description="stdout, stderr, engine, deployer...")


class TransferEvent(_EventBase):
    type: Literal["transfer"]
    name: str = Field(description="What is transferred (file name or URL).")
    direction: Literal["in", "out"]
    done_bytes: int = Field(ge=0)
    total_bytes: int | None = Field(None, ge=0)
    state: Literal["running", "done", "failed"]
    error: str | None = None


class StageEvent(_EventBase):
    type: Literal["stage"]
    stage: Literal["connect", "environment", "stage-in", "submit", "queued", "run",
                   "sync", "stage-out", "cancel"] = Field(
        description="The deployment step, in the order a remote execution goes through them.")
    state: Literal["running", "done", "failed", "skipped"]
    detail: str | None = Field(None, description="What happened, for a person (one line).")
    info: dict[str, Any] | None = Field(None, description="Machine-readable details "
                                        "(job id, environment path, file count...).")


class StepEvent(_EventBase):
    """A step of a step graph moved on (its own events follow with ``step`` set)."""

    type: Literal["step"]
    step: str
    state: Literal["pending", "queued", "staging-in", "submitted", "running", "staging-out",
                   "done", "failed", "cancelling", "cancelled"]
    site: str | None = Field(None, description="The site the step runs on.")
    execution: str | None = Field(None, description="The step's own execution id.")
    job_id: str | None = Field(None, description="The step's job on its site, once known.")
    detail: str | None = None


Event = Annotated[TaskEvent | RunEvent | LogEvent | TransferEvent | StageEvent | StepEvent,
                  Field(discriminator="type")]
_EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(Event)


def validate_event(event: dict[str, Any]
                   ) -> TaskEvent | RunEvent | LogEvent | TransferEvent | StageEvent | StepEvent:
    """Check one event dict against the schema; raises ``pydantic.ValidationError``."""
    return _EVENT_ADAPTER.validate_python(event)


def event_json_schema() -> dict[str, Any]:
    """The JSON Schema of an event, published in ``docs/event-schema.json``."""
    return _EVENT_ADAPTER.json_schema()

