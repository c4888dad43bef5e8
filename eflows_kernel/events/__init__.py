"""The task-event stream: one versioned schema for everything that moves in a run.

Every producer (the engine, the COMPSs monitor reader, the deployer, which also copies
a remote run's events into its local log) writes through an :class:`EventStream`, the
one writer; consumers subscribe in-process, or follow the JSON-lines event log with a
:class:`Follower`, resuming from a sequence number.
"""

from eflows_kernel.events.follow import Follower
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
    "Follower",
    "RunState",
    "Subscription",
    "TaskState",
    "read_events",
    "validate_event",
]
