"""One graph execution as the process driving it holds it, and the graph's one event log.

:class:`GraphRun` is what lives while a graph execution is driven: its plan, the targets
of its sites, and its one gap-free log, into which every step's events are copied
(numbered there, each with its ``step`` and the ``step_seq`` it had) beside ``step``
events saying how each step moves on. All of it can be rebuilt: a restarted server
reads the log back (:meth:`GraphRun.resume_log`) and goes on copying where it stopped.
Apart from the driver (``graph.py``): what the log says, and what is read back from it
after a restart, is a matter of its own, not of when steps start.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from eflows_kernel.events import EventLogReader, EventStream, read_events
from eflows_kernel.services.executions.executor import Target
from eflows_kernel.services.executions.plan import ExecutionPlan
from eflows_kernel.services.executions.store import Execution


@dataclass
class GraphRun:
    """What lives while one graph execution is driven by this process."""

    execution_id: str
    plan: ExecutionPlan
    credential_id: str | None
    targets: dict[str, Target]  # site -> where its steps run (checked at submit)
    log: EventStream
    readers: dict[str, EventLogReader] = field(default_factory=dict)
    reported: dict[str, str] = field(default_factory=dict)  # step -> last state logged
    cancel_sent: set[str] = field(default_factory=set)
    thread: threading.Thread | None = None

    @property
    def deps(self) -> dict[str, tuple[str, ...]]:
        return {s.name: s.depends_on for s in self.plan.steps}

    def resume_log(self, path: Path) -> None:
        """Where each step's copy stopped, and what was last said of each step."""
        copied: dict[str, int] = {}
        for event in read_events(path) if path.is_file() else []:
            if event.get("type") == "step":
                self.reported[event["step"]] = event["state"]
            elif "step" in event and "step_seq" in event:
                copied[event["step"]] = int(event["step_seq"])
        self.readers = {name: EventLogReader("", seq) for name, seq in copied.items()}

    def copy_events(self, children: Mapping[str, Execution]) -> None:
        """Each step's new events into the graph's log, numbered there, each with its
        ``step`` and the ``step_seq`` it had."""
        for name, child in children.items():
            if not child.event_log:
                continue
            reader = self.readers.get(name)
            if reader is None or str(reader.path) != child.event_log:
                reader = EventLogReader(child.event_log, reader.last_seq if reader else 0)
                self.readers[name] = reader
            for event in reader.poll():
                fields = {k: v for k, v in event.items()
                          if k not in ("v", "seq", "run", "ts", "type")}
                fields.update(step=name, step_seq=int(event["seq"]))
                self.log.emit(str(event["type"]), ts=event.get("ts"), **fields)

    def report(self, name: str, state: str, child: Execution | None,
               detail: str | None = None) -> None:
        """A ``step`` event saying how step ``name`` moves on (once per state)."""
        if self.reported.get(name) == state:
            return
        self.reported[name] = state
        step = self.plan.step(name)
        self.log.emit("step", step=name, state=state, site=step.site,
                      execution=child.id if child else None,
                      job_id=child.remote_job_id if child else None,
                      detail=detail or (child.error.splitlines()[0][:300]
                                        if child and child.error else None))


__all__ = ["GraphRun"]
