"""Turn the real COMPSs runtime's monitor output into our task events (schema v1).

With monitoring on (``runcompss -m`` / ``enqueue_compss --monitoring=<ms>``), the runtime
rewrites, in ``<log dir>/monitor/`` at every monitor tick:

- ``complete_graph.dot``: every task analysed so far (with ``--graph``; final at the end);
- ``current_graph.dot``: the tasks that are not finished yet (pending and running);
- ``COMPSs_state.xml``: resources, core elements and their counts (and, in newer runtimes,
  per-task states).

The files are snapshots, not a log, so the reader keeps what it already told and emits only
the *changes* through an :class:`~eflows_kernel.events.EventStream` (which numbers them
without gaps). The same graph widget then shows COMPSs runs and our own engine's runs.

How states are decided (the DOT colours are the task *type*, never its state: in the real
fixtures the red circles of ``1_compss_exceptions.dot`` are simply ``write_two`` tasks):

1. a per-task state in ``COMPSs_state.xml`` wins (``TO_ANALYSE``/``TO_EXECUTE``/``FINISHED``/
   ``FAILED``/``CANCELED``, the runtime's ``TaskState`` names);
2. else a task in ``current_graph.dot`` is ``running`` when the XML lists an execution action
   for it on a resource, or when it sits in a non-group cluster (the current graph draws
   running tasks inside their worker's cluster); otherwise ``ready`` if all its task
   dependencies are done and ``pending`` if not;
3. else a task of ``complete_graph.dot`` that has left the current graph is ``done`` (only
   once a current graph has been seen: without one we cannot tell finished from waiting);
4. :meth:`CompssMonitorReader.finish` closes the run and settles the remaining tasks.

Failures are therefore only visible through the XML (or the run's final state): the DOT
files carry no failure marks.

A task that ends carries what it printed (``stdout``/``stderr``) when the runtime left
its job files beside the monitor directory (:mod:`eflows_kernel.compss.job_output`).
"""

from __future__ import annotations

import re
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eflows_kernel.compss.graph import CompssGraph, read_compss_graph
from eflows_kernel.compss.job_output import JobOutputs
from eflows_kernel.events import EventStream

__all__ = ["CompssMonitorReader", "CompssState", "parse_compss_state", "read_compss_state"]

COMPLETE_GRAPH = "complete_graph.dot"
CURRENT_GRAPH = "current_graph.dot"
STATE_XML = "COMPSs_state.xml"

_RANK = {"pending": 0, "ready": 1, "running": 2, "done": 3, "failed": 3, "cancelled": 3}
_COMPSS_TASK_STATES = {
    "TO_ANALYSE": "pending",
    "TO_EXECUTE": "ready",
    "RUNNING": "running",
    "FINISHED": "done",
    "FAILED": "failed",
    "CANCELED": "cancelled",
    "CANCELLED": "cancelled",
}
_ACTION_TASK_RE = re.compile(r"Task\s*(?:id\s*)?[#:]?\s*(\d+)", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# COMPSs_state.xml (best effort: its content changed across COMPSs versions)
# ---------------------------------------------------------------------------------------------


@dataclass
class CompssState:
    """What ``COMPSs_state.xml`` says that we can use."""

    resources: dict[str, dict[str, str]] = field(default_factory=dict)
    cores: dict[str, dict[str, str]] = field(default_factory=dict)  # signature -> counters
    task_states: dict[int, str] = field(default_factory=dict)  # task id -> our state
    running_on: dict[int, str] = field(default_factory=dict)  # task id -> resource name


def _leaf_values(elem: ET.Element) -> dict[str, str]:
    return {child.tag: (child.text or "").strip() for child in elem if len(child) == 0}


def parse_compss_state(text: str) -> CompssState:
    """Parse the monitor's XML; raises ``xml.etree.ElementTree.ParseError`` when incomplete."""
    root = ET.fromstring(text)
    state = CompssState()
    for res in root.iter("Resource"):
        name = res.get("id") or res.findtext("Name") or f"resource{len(state.resources) + 1}"
        state.resources[name] = _leaf_values(res)
        for action in res.iter("Action"):
            m = _ACTION_TASK_RE.search(action.text or "")
            if m:
                state.running_on[int(m.group(1))] = name
    for core in root.iter("Core"):
        for impl in core.iter("Impl"):
            values = _leaf_values(impl)
            sig = values.get("Signature") or core.get("signature") or core.get("id", "?")
            state.cores[sig] = values
    for task in root.iter("Task"):
        tid = task.get("id") or task.findtext("Id") or task.findtext("ID")
        raw = task.get("state") or task.findtext("State") or task.findtext("Status") or ""
        mapped = _COMPSS_TASK_STATES.get(raw.strip().upper())
        if tid and tid.strip().isdigit() and mapped:
            state.task_states[int(tid)] = mapped
    return state


def read_compss_state(path: str | Path) -> CompssState:
    return parse_compss_state(Path(path).read_text(encoding="utf-8", errors="replace"))


# ---------------------------------------------------------------------------------------------
# The reader
# ---------------------------------------------------------------------------------------------


@dataclass
class _Known:
    state: str
    worker: str | None = None
    started: float | None = None


class CompssMonitorReader:
    """Follow a COMPSs run's monitor directory and emit the new task/run events.

    ``log_dir`` is the application's log directory (``<base_log_dir>/<app>_NN``) or its
    ``monitor`` subdirectory. ``poll()`` re-reads a file only when its (mtime, size)
    changed and emits only state changes, so polling is cheap and idempotent.
    """

    def __init__(self, log_dir: str | Path, stream: EventStream, app: str | None = None) -> None:
        log_dir = Path(log_dir)
        self.monitor_dir = log_dir if (log_dir / COMPLETE_GRAPH).exists() or (
            log_dir.name == "monitor") else log_dir / "monitor"
        self.stream = stream
        self.app = app
        self.outputs = JobOutputs(self.monitor_dir.parent)  # each task's stdout/stderr
        self._lock = threading.Lock()
        self._sigs: dict[str, tuple[int, int] | None] = {}
        self._complete: CompssGraph | None = None
        self._current: CompssGraph | None = None
        self._xml: CompssState | None = None
        self._tasks: dict[int, _Known] = {}
        self._run_started = False
        self._finished = False

    # -- file access ---------------------------------------------------------------------

    def _changed(self, name: str) -> tuple[bool, Path]:
        path = self.monitor_dir / name
        try:
            st = path.stat()
            sig: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            sig = None
        changed = self._sigs.get(name, None) != sig or name not in self._sigs
        return changed, path

    def _reload(self) -> bool:
        """Re-read the files that changed; True when anything new was read."""
        any_new = False
        for name in (COMPLETE_GRAPH, CURRENT_GRAPH, STATE_XML):
            changed, path = self._changed(name)
            if not changed:
                continue
            try:
                st = path.stat()
                sig = (st.st_mtime_ns, st.st_size)
                if name == STATE_XML:
                    self._xml = read_compss_state(path)
                else:
                    graph = read_compss_graph(path)
                    if name == COMPLETE_GRAPH:
                        self._complete = graph
                    else:
                        self._current = graph
            except FileNotFoundError:
                sig = None  # type: ignore[assignment]
            except (ET.ParseError, OSError):
                continue  # half-written: leave the signature so the next poll retries
            self._sigs[name] = sig
            any_new = True
        return any_new

    # -- state decision --------------------------------------------------------------------

    def _target_state(self, tid: int, deps: list[int]) -> tuple[str, str | None]:
        xml = self._xml
        current = self._current
        in_current = current is not None and tid in current.tasks
        worker = xml.running_on.get(tid) if xml else None
        if worker is None and in_current:
            worker = current.tasks[tid].cluster  # type: ignore[union-attr]
        if xml and tid in xml.task_states:
            state = xml.task_states[tid]
            if state == "ready" and worker is not None:
                state = "running"
            return state, worker
        if in_current:
            if worker is not None:
                return "running", worker
            done = all(self._tasks.get(d) and self._tasks[d].state == "done" for d in deps)
            return ("ready" if done else "pending"), None
        if current is not None and self._sigs.get(CURRENT_GRAPH) is not None:
            return "done", None
        return "pending", None

    def _emit_task(self, tid: int, state: str, worker: str | None, **first: Any) -> None:
        now = time.time()
        known = self._tasks.get(tid)
        fields: dict[str, Any] = dict(first)
        if state == "running":
            fields.update(attempt=1, worker=worker or "compss", started=now)
        elif state in ("done", "failed"):
            started = known.started if known else None
            fields.update(attempt=1, worker=(known.worker if known else None) or worker,
                          started=started, ended=now)
            if state == "failed":
                fields.update(final=True, error="COMPSs reported the task as failed")
            fields.update(self.outputs.output(tid))
        elif state == "cancelled":
            fields.update(reason="cancelled by the COMPSs runtime")
        self.stream.emit("task", ts=now, task=tid, state=state, **fields)
        if known is None:
            known = self._tasks[tid] = _Known(state)
        known.state = state
        if state == "running":
            known.worker, known.started = worker or "compss", now

    def _all_tasks(self) -> dict[int, tuple[CompssGraph, Any]]:
        found: dict[int, tuple[CompssGraph, Any]] = {}
        for graph in (self._current, self._complete):  # complete wins for static fields
            if graph is not None:
                for tid, task in graph.tasks.items():
                    found[tid] = (graph, task)
        return found

    # -- public API ------------------------------------------------------------------------

    def poll(self) -> list[dict[str, Any]]:
        """Read what changed and emit the new events; returns them (empty if nothing new)."""
        with self._lock:
            first_seq = self.stream.last_seq
            if not self._reload() or self._finished:
                return []
            tasks = self._all_tasks()
            if tasks and not self._run_started:
                self._run_started = True
                info: dict[str, Any] = {"log_dir": str(self.monitor_dir.parent),
                                        "runtime": "COMPSs"}
                if self._xml is not None and self._xml.resources:
                    info["resources"] = self._xml.resources
                self.stream.emit("run", state="running", app=self.app, info=info)
            for tid in sorted(tasks):
                graph, task = tasks[tid]
                deps = graph.deps(tid)
                target, worker = self._target_state(tid, deps)
                known = self._tasks.get(tid)
                if known is None:
                    first_state = target if _RANK[target] <= 1 else "pending"
                    self._emit_task(tid, first_state, worker, name=task.name or "task",
                                    deps=deps, groups=list(task.groups) or None)
                    known = self._tasks[tid]
                if _RANK[target] > _RANK[known.state]:
                    self._emit_task(tid, target, worker)
            return self.stream.events(first_seq) if self.stream.last_seq > first_seq else []

    def finish(self, state: str = "done", error: str | None = None) -> list[dict[str, Any]]:
        """The run ended (the job left the queue): settle open tasks and close the run.

        Tasks still open become ``done`` when the run succeeded, ``cancelled`` otherwise
        (COMPSs does not run anything after the application ends).
        """
        with self._lock:
            first_seq = self.stream.last_seq
            if self._finished:
                return []
            self._finished = True
            for tid, known in sorted(self._tasks.items()):
                if _RANK[known.state] < 3:
                    self._emit_task(tid, "done" if state == "done" else "cancelled",
                                    known.worker)
            counts: dict[str, int] = {}
            for known in self._tasks.values():
                counts[known.state] = counts.get(known.state, 0) + 1
            self.stream.emit("run", state=state, app=self.app, counts=counts, error=error)
            return self.stream.events(first_seq)

    def follow(self, interval: float = 1.0, stop: threading.Event | None = None) -> None:
        """Poll every ``interval`` seconds until ``stop`` is set (run it in a thread)."""
        stop = stop or threading.Event()
        while not stop.is_set():
            self.poll()
            stop.wait(interval)
