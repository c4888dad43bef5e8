"""An execution's output as numbered log entries: what the HPCWaaS logs route pages through.

HPCWaaS clients page a run's log by *entry* (``from`` is an index, ``size`` a count,
``-1`` for all, ``total_results`` how many match the levels asked), each entry with a
level and a timestamp. Our executors keep the output as a byte stream (``output.log``,
read by byte offset, over SSH while a remote run goes on), so this keeps, per execution,
the lines read so far with the time they were first seen, and reads only the bytes the
log gained since. The ``waas`` client polls every few seconds for as long as a run
lasts: re-reading (and re-fetching from the site) the whole log each time would cost
the log's size per poll.

A line still being written (no newline yet) is held back until it is complete or the
run is over, so an entry's content never changes once served and indexes stay stable.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from eflows_kernel.services.executions.store import Execution
from eflows_kernel.services.log_query import DEFAULT_LEVELS, line_level

CACHED_EXECUTIONS = 32  # executions whose entries stay in memory (least recently asked go)


@dataclass(frozen=True)
class LogEntry:
    level: str  # DEBUG, INFO, WARN or ERROR
    timestamp: datetime  # when the server first saw the line
    content: str

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "timestamp": self.timestamp.isoformat(),
                "content": self.content}


@dataclass(frozen=True)
class LogPage:
    """Entries ``start`` .. ``start + len(entries)`` of those with the levels asked."""

    entries: list[LogEntry]
    total: int  # entries with the levels asked, so far
    start: int
    finished: bool  # the run is over: no entry will be added

    def to_hpcwaas(self) -> dict[str, Any]:
        """The HPCWaaS body: ``{"logs": [...], "total_results", "from"}``."""
        return {"logs": [e.to_dict() for e in self.entries], "total_results": self.total,
                "from": self.start}


@dataclass
class _Seen:
    offset: int = 0  # bytes of the output read so far
    partial: str = ""  # the last line, not complete yet
    entries: list[LogEntry] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


ReadLog = Callable[[str, int], tuple[str, int]]  # (execution id, offset) -> (text, next)
GetExecution = Callable[[str], Execution]


class LogEntries:
    """Pages of an execution's output as leveled entries, reading only what is new.

    ``read`` is ``ExecutionsService.logs`` (by byte offset), ``get`` its ``get``; an
    unknown execution is the service's 404.
    """

    def __init__(self, read: ReadLog, get: GetExecution,
                 cached: int = CACHED_EXECUTIONS) -> None:
        self._read = read
        self._get = get
        self._cached = cached
        self._seen: OrderedDict[str, _Seen] = OrderedDict()
        self._lock = threading.Lock()

    def page(self, execution_id: str, start: int = 0, size: int | None = None,
             levels: frozenset[str] = DEFAULT_LEVELS) -> LogPage:
        """Entries from index ``start`` (at most ``size``; ``None`` for all) of ``levels``."""
        execution = self._get(execution_id)  # before reading: what it says then is final
        seen = self._entry(execution_id)
        with seen.lock:
            self._catch_up(execution_id, seen, execution)
            matching = [e for e in seen.entries if e.level in levels]
        end = len(matching) if size is None else start + size
        return LogPage(matching[start:end], len(matching), start, execution.finished)

    def _entry(self, execution_id: str) -> _Seen:
        with self._lock:
            seen = self._seen.pop(execution_id, None) or _Seen()
            self._seen[execution_id] = seen  # most recently asked last
            while len(self._seen) > self._cached:
                self._seen.popitem(last=False)
            return seen

    def _catch_up(self, execution_id: str, seen: _Seen, execution: Execution) -> None:
        first_read = seen.offset == 0 and not seen.entries
        text, seen.offset = self._read(execution_id, seen.offset)
        # Lines already there when first looked at: the run's last change is the best bound
        # on when a finished run wrote them.
        now = execution.updated_at if first_read and execution.finished else \
            datetime.now(timezone.utc)
        lines = (seen.partial + text).split("\n")
        seen.partial = lines.pop()
        if execution.finished and seen.partial:
            lines.append(seen.partial)
            seen.partial = ""
        for line in lines:
            line = line.rstrip("\r")
            if line.strip():
                seen.entries.append(LogEntry(line_level(line), now, line))


__all__ = ["LogEntries", "LogEntry", "LogPage"]
