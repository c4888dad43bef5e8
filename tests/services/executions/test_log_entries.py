"""An execution's output as numbered, leveled entries read incrementally (log_entries)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from eflows_kernel.services.executions.log_entries import LogEntries
from eflows_kernel.services.executions.store import Execution, ExecutionState
from eflows_kernel.services.log_query import parse_levels

ALL = parse_levels("15")


class GrowingLog:
    """A run's output that grows between reads, served by byte offset as the service does."""

    def __init__(self) -> None:
        self.data = b""
        self.state = ExecutionState.RUNNING
        self.reads: list[int] = []  # the offsets asked for

    def read(self, execution_id: str, offset: int) -> tuple[str, int]:
        self.reads.append(offset)
        return self.data[offset:].decode(), len(self.data)

    def get(self, execution_id: str) -> Execution:
        now = datetime.now(timezone.utc)
        return Execution(id=execution_id, workflow_id="w", site="local", credential_id=None,
                         inputs={}, state=self.state, state_history=[], outputs={},
                         remote_job_id=None, event_log=None, event_seq=0, error=None,
                         created_at=now, updated_at=now)


def _contents(page: Any) -> list[str]:
    return [e.content for e in page.entries]


def test_entries_by_index_and_level_reading_only_new_bytes() -> None:
    log = GrowingLog()
    entries = LogEntries(log.read, log.get)
    log.data = b"start\nDEBUG detail\nWARNING careful\n"
    page = entries.page("e1", 0, None, ALL)
    assert _contents(page) == ["start", "DEBUG detail", "WARNING careful"]
    assert [e.level for e in page.entries] == ["INFO", "DEBUG", "WARN"]
    assert page.total == 3 and page.start == 0 and not page.finished
    first_seen = page.entries[0].timestamp
    log.data += b"ERROR broke\nhalf a li"
    page = entries.page("e1", 3, None, ALL)
    assert _contents(page) == ["ERROR broke"]  # the unfinished line is held back
    assert log.reads == [0, 35]  # the second read starts where the first ended
    default = entries.page("e1", 0, None, parse_levels("0"))  # no DEBUG
    assert _contents(default) == ["start", "WARNING careful", "ERROR broke"]
    assert default.total == 3
    assert entries.page("e1", 0, None, ALL).entries[0].timestamp == first_seen  # stable
    assert _contents(entries.page("e1", 1, 2, ALL)) == ["DEBUG detail", "WARNING careful"]
    assert _contents(entries.page("e1", 9, None, ALL)) == []
    log.data += b"ne\n\n"
    log.state = ExecutionState.DONE
    page = entries.page("e1", 4, None, ALL)
    assert _contents(page) == ["half a line"] and page.finished  # empty lines are no entries
    body = page.to_hpcwaas()
    assert set(body) == {"logs", "total_results", "from"}
    assert body["total_results"] == 5 and body["from"] == 4
    assert set(body["logs"][0]) == {"level", "timestamp", "content"}


def test_last_line_without_newline_counts_once_the_run_is_over() -> None:
    log = GrowingLog()
    log.data = b"one\ntwo"
    log.state = ExecutionState.FAILED
    entries = LogEntries(log.read, log.get)
    assert _contents(entries.page("e", 0, None, ALL)) == ["one", "two"]
    assert _contents(entries.page("e", 0, None, ALL)) == ["one", "two"]


def test_least_recently_asked_executions_are_forgotten() -> None:
    log = GrowingLog()
    log.data = b"line\n"
    entries = LogEntries(log.read, log.get, cached=2)
    for name in ("a", "b", "a", "c"):
        entries.page(name, 0, None, ALL)
    assert log.reads == [0, 0, 5, 0]
    entries.page("b", 0, None, ALL)  # forgotten: read again from the start
    entries.page("a", 0, None, ALL)  # pushed out when "b" came back: read again too
    assert log.reads == [0, 0, 5, 0, 0, 0]
