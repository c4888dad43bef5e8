"""The task-event stream: one versioned schema for everything that moves in a run.

Producers (the engine, later the COMPSs monitor reader and remote jobs) emit events
through an :class:`EventStream`; consumers (widgets, the REST stream, the CLI) either
subscribe in-process or read the JSON-lines event log, resuming from a sequence number.
"""

from eflows_kernel.events.log import EVENT_LOG, EventLogReader, EventLogWriter, read_events
from eflows_kernel.events.schema import (
    SCHEMA_VERSION,
    TERMINAL_TASK_STATES,
    Event,
    EventType,
    RunState,
    TaskState,
    validate_event,
)
from eflows_kernel.events.stream import EventStream, Subscription

__all__ = [
    "EVENT_LOG",
    "SCHEMA_VERSION",
    "TERMINAL_TASK_STATES",
    "Event",
    "EventLogReader",
    "EventLogWriter",
    "EventStream",
    "EventType",
    "RunState",
    "Subscription",
    "TaskState",
    "read_events",
    "validate_event",
]
