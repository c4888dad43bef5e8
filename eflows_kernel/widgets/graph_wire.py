"""What travels from the graph model to the browser: compact binary messages.

A 100,000-task run must not cost the kernel's WebSocket more than the browser can
draw, so the front end receives tables, not figures: one row per new or changed task
(``TASK_COLUMNS``: index, id, layer, x, function, state, attempt, worker, start, end),
one per new or changed attempt (``ATTEMPT_COLUMNS``), one pair per new edge, packed as
typed-array columns into one buffer (each column aligned to 8 bytes, so the browser
reads it without copying). Names (functions, workers) and the run's header go beside
it as JSON. Times are seconds from ``origin`` as float32 (a millisecond at ten hours).

Messages are *deltas* (what changed since message ``base``) or *snapshots* (all of
it, as of the last delta: the encoder keeps every row it sent in typed arrays, so a
snapshot of 100,000 tasks is packed in milliseconds). Rows carry absolute indices and
edges come only with the task they lead to, so applying a delta over a snapshot that
already holds part of it is harmless: the front end applies a delta when
``base <= its seq < seq``.
"""

from __future__ import annotations

import math
import shlex
import time
from array import array
from typing import Any

from eflows_kernel.widgets.graph_model import RunGraphModel, TaskInfo, first_line
from eflows_kernel.widgets.graph_stats import STATES

STATE_CODES = {state: code for code, state in enumerate(STATES)}
TASK_COLUMNS = (("index", "i"), ("id", "i"), ("layer", "i"), ("x", "f"), ("fn", "i"),
                ("state", "B"), ("attempt", "B"), ("worker", "i"), ("started", "f"),
                ("ended", "f"))
ATTEMPT_COLUMNS = (("index", "i"), ("task", "i"), ("worker", "i"), ("started", "f"),
                   ("ended", "f"), ("state", "B"))
EDGE_COLUMNS = (("source", "i"), ("target", "i"))
_DTYPES = {"i": "int32", "f": "float32", "B": "uint8"}
#: Failed tasks whose error and output are pushed unasked (the rest load on click).
FAILURES_PUSHED = 500
#: Characters of error / stdout / stderr pushed per failed task.
PUSHED_TEXT = 4000


def _tail(text: str | None, limit: int) -> str | None:
    if not text:
        return None
    return text if len(text) <= limit else "[...]\n" + text[-limit:]


def pack(columns: dict[str, tuple[str, Any]]) -> tuple[dict[str, list[Any]], bytes]:
    """Columns (lists or arrays) as one buffer: ``({name: [dtype, offset, length]}, bytes)``."""
    layout: dict[str, list[Any]] = {}
    parts: list[bytes] = []
    offset = 0
    for name, (code, values) in columns.items():
        data = (values if isinstance(values, array) else array(code, values)).tobytes()
        layout[name] = [_DTYPES[code], offset, len(values)]
        padding = -len(data) % 8
        parts.append(data + b"\0" * padding)
        offset += len(data) + padding
    return layout, b"".join(parts)


class _Table:
    """Every row sent so far, column by column: a snapshot packs it at C speed."""

    def __init__(self, prefix: str, spec: tuple[tuple[str, str], ...]) -> None:
        self.names = [f"{prefix}{name}" for name, _ in spec]
        self.codes = [code for _, code in spec]
        self.columns = [array(code) for code in self.codes]

    def put(self, index: int, row: tuple[Any, ...]) -> None:
        for column, value in zip(self.columns, row, strict=True):
            if index < len(column):
                column[index] = value
            else:
                column.append(value)

    def message_columns(self, rows: list[tuple[Any, ...]]) -> dict[str, tuple[str, Any]]:
        """Columns of just ``rows`` (a delta)."""
        values: list[list[Any]] = [list(c) for c in zip(*rows, strict=True)] if rows else \
            [[] for _ in self.names]
        return {name: (code, column) for name, code, column in
                zip(self.names, self.codes, values, strict=True)}

    def all_columns(self) -> dict[str, tuple[str, Any]]:
        return {name: (code, column) for name, code, column in
                zip(self.names, self.codes, self.columns, strict=True)}


class WireEncoder:
    """Turns a model's changes into messages for one widget's front ends."""

    def __init__(self, model: RunGraphModel) -> None:
        self.model = model
        self.seq = 0
        self.origin: float | None = None
        self._failures_pushed: set[int] = set()
        self._tasks = _Table("task_", TASK_COLUMNS)
        self._attempts = _Table("attempt_", ATTEMPT_COLUMNS)
        self._edges = _Table("edge_", EDGE_COLUMNS)

    # -- messages ---------------------------------------------------------------------
    def delta(self, now: float | None = None) -> tuple[dict[str, Any], bytes] | None:
        """What changed since the last delta, or None if nothing did."""
        model = self.model
        if not model.has_changes:
            return None
        if self.origin is None:
            self.origin = model.first_ts or model.last_ts
        new, changed, attempts = model.take_changes()
        new_set = set(new)
        infos = [model.tasks[t] for t in new]
        infos += sorted((model.tasks[t] for t in changed - new_set), key=lambda i: i.index)
        task_rows = [self._task_row(info) for info in infos]
        attempt_rows = [self._attempt_row(model.attempts[i]) for i in sorted(attempts)]
        edge_rows = [(dep.index, info.index) for dep, info in model.edges(new)]
        for table, rows in ((self._tasks, task_rows), (self._attempts, attempt_rows)):
            for row in rows:
                table.put(row[0], row)
        for row in edge_rows:
            self._edges.put(len(self._edges.columns[0]), row)
        columns = {**self._tasks.message_columns(task_rows),
                   **self._attempts.message_columns(attempt_rows),
                   **self._edges.message_columns(edge_rows)}
        self.seq += 1
        failed = [info for info in infos if info.state == "failed"]
        return self._message("delta", self.seq - 1, columns, failed, now)

    def snapshot(self, now: float | None = None) -> tuple[dict[str, Any], bytes]:
        """Everything, as of the last delta."""
        columns = {**self._tasks.all_columns(), **self._attempts.all_columns(),
                   **self._edges.all_columns()}
        return self._message("snapshot", None, columns, self.model.failed_tasks(), now)

    def _message(self, kind: str, base: int | None, columns: dict[str, tuple[str, Any]],
                 failed: list[TaskInfo], now: float | None) -> tuple[dict[str, Any], bytes]:
        model = self.model
        layout, data = pack(columns)
        meta = {"kind": kind, "seq": self.seq, "base": base, "columns": layout,
                "origin": self.origin, "header": self.header(now),
                "functions": [f.summary(self._now(now)) for f in model.functions.values()],
                "workers": list(model.workers),
                "errors": {str(t.index): first_line(t.error or "") for t in failed},
                "failures": self._failures(failed)}
        return meta, data

    # -- parts ------------------------------------------------------------------------
    def _now(self, now: float | None) -> float | None:
        model = self.model
        if model.ended_at is not None:
            return model.ended_at
        return now if now is not None else model.last_ts

    def header(self, now: float | None = None) -> dict[str, Any]:
        model = self.model
        eta = model.eta(self._now(now))
        return {"run": model.run_id, "run_state": model.run_state, "status": model.status(),
                "total": model.total, "finished": model.finished,
                "counts": [model.counts[s] for s in STATES],
                "eta": None if eta is None else round(eta, 1),
                "error": first_line(model.run_error) if model.run_error else None,
                "ended_at": model.ended_at, "sealed": model.last_task is not None,
                "now": time.time() if now is None else now, "last_ts": model.last_ts,
                "steps": [[name, state] for name, state in model.steps.states.items()]}

    def _rel(self, value: float | None) -> float:
        if value is None or self.origin is None:
            return math.nan
        return value - self.origin

    def _task_row(self, info: TaskInfo) -> tuple[Any, ...]:
        model = self.model
        return (info.index, info.id, info.layer, info.x, model.functions[info.name].index,
                STATE_CODES[info.state], min(info.attempt, 255),
                model.workers.get(info.worker, -1) if info.worker else -1,
                self._rel(info.started), self._rel(info.ended))

    def _attempt_row(self, attempt: Any) -> tuple[Any, ...]:
        model = self.model
        return (attempt.index, model.tasks[attempt.task].index,
                model.workers.get(attempt.worker, -1), self._rel(attempt.started),
                self._rel(attempt.ended),
                STATE_CODES.get(attempt.state, STATE_CODES["cancelled"]))

    def _failures(self, failed: list[TaskInfo]) -> dict[str, dict[str, Any]]:
        """Error and output of failed tasks, unasked: a click while the kernel runs a
        cell cannot be answered until the cell ends, and these are what users open."""
        pushed: dict[str, dict[str, Any]] = {}
        for info in failed:
            if info.id not in self._failures_pushed and len(
                    self._failures_pushed) >= FAILURES_PUSHED:
                continue
            self._failures_pushed.add(info.id)
            attempts = self.model.task_attempts(info)
            last = attempts[-1] if attempts else None
            pushed[str(info.index)] = {
                "error": _tail(info.error, PUSHED_TEXT),
                "stdout": _tail(last.stdout if last else None, PUSHED_TEXT),
                "stderr": _tail(last.stderr if last else None, PUSHED_TEXT)}
        return pushed


def _as_text(key: str, value: Any) -> str | int | float:
    """A field the model does not know, readable: a command line as the shell has it,
    other lists comma-separated, mappings as key=value."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | list | dict):
        return repr(value)
    if isinstance(value, list):
        items = [str(item) for item in value]
        return shlex.join(items) if key == "command" else ", ".join(items)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return value


def task_details(model: RunGraphModel, task_id: int) -> dict[str, Any]:
    """Everything known of one task, for its details panel (JSON-ready, asked on click).

    Fields the model does not know (``extra``: a binary or MPI task's command line and
    exit value, say) are passed on as text, so the panel shows them when present.
    """
    info = model.tasks[task_id]
    stats = model.functions[info.name]
    attempts = [{"number": a.number, "worker": a.worker, "started": a.started,
                 "ended": a.ended, "state": a.state, "error": a.error, "stdout": a.stdout,
                 "stderr": a.stderr, "usage": a.usage}
                for a in model.task_attempts(info)]
    return {"id": info.id, "index": info.index, "name": info.name, "state": info.state,
            "deps": list(info.deps[:100]), "n_deps": len(info.deps),
            "groups": list(info.groups), "args": info.args or {}, "reason": info.reason,
            "on_failure": info.on_failure, "error": info.error, "attempts": attempts,
            "extra": {str(k): _as_text(k, v) for k, v in (info.extra or {}).items()},
            "function": stats.summary(model.last_ts)}


__all__ = ["ATTEMPT_COLUMNS", "EDGE_COLUMNS", "STATE_CODES", "TASK_COLUMNS", "WireEncoder",
           "pack", "task_details"]
