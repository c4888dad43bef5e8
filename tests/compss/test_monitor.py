"""The monitor reader on a log dir holding real COMPSs graphs (copied fixtures)."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from eflows_kernel.compss.monitor import CompssMonitorReader, parse_compss_state
from eflows_kernel.events import EventStream, validate_event

GRAPHS = Path(__file__).resolve().parents[1] / "fixtures" / "compss-graphs"
BLUE = 'shape=circle, style=filled fillcolor="#0000ff" fontcolor="#ffffff"'
WHITE = 'shape=circle, style=filled fillcolor="#ffffff" fontcolor="#000000"'

# Shape of the monitor's XML (COMPSsState with TasksInfo / ResourceInfo / CoresInfo).
STATE_XML = """<?xml version="1.0" encoding="UTF-8"?>
<COMPSsState>
  <TasksInfo>
    <Application id="taskGroups">
      <Task id="23"><State>FAILED</State></Task>
      <Task id="22"><State>FINISHED</State></Task>
    </Application>
  </TasksInfo>
  <ResourceInfo>
    <Resource id="COMPSsWorker01">
      <TotalCPUComputingUnits>4</TotalCPUComputingUnits>
      <Memory>8.0</Memory>
      <Status>Running</Status>
      <Actions><Action>ExecutionAction ( Task 24, CE name taskGroups.write_two )</Action></Actions>
    </Resource>
  </ResourceInfo>
  <CoresInfo>
    <Core id="0" signature="write_one(FILE_T)taskGroups">
      <Impl id="0"><Signature>taskGroups.write_one</Signature>
        <ExecutedCount>21</ExecutedCount><MeanExecutionTime>12</MeanExecutionTime></Impl>
    </Core>
  </CoresInfo>
</COMPSsState>
"""


def current_graph(running: dict[int, str], waiting: list[tuple[int, str]]) -> str:
    """A current_graph.dot: running tasks inside their worker's cluster, others outside."""
    lines = ["digraph {", "  subgraph dependence_graph {"]
    for i, (tid, worker) in enumerate(running.items()):
        lines += [f"subgraph cluster{i} {{", f'label="{worker}";',
                  f"{tid}[{BLUE}];", "}"]
    lines += [f"{tid}[{color}];" for tid, color in waiting]
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def write(path: Path, text: str, tick: list[int]) -> None:
    path.write_text(text)
    tick[0] += 1
    os.utime(path, ns=(tick[0] * 10**9, tick[0] * 10**9))  # a distinct mtime every write


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    monitor = tmp_path / "taskGroups_01" / "monitor"
    monitor.mkdir(parents=True)
    shutil.copy(GRAPHS / "2_task_groups.dot", monitor / "complete_graph.dot")
    return tmp_path / "taskGroups_01"


def check(events: list[dict]) -> None:
    for event in events:
        validate_event(event)


def states(events: list[dict]) -> dict[int, str]:
    return {e["task"]: e["state"] for e in events if e["type"] == "task"}


def test_reader_emits_states_deps_and_is_idempotent(log_dir: Path) -> None:
    tick = [1000]
    monitor = log_dir / "monitor"
    waiting = [(t, BLUE) for t in range(14, 22)] + [(t, WHITE) for t in (22, 23, 24)]
    write(monitor / "current_graph.dot", current_graph({13: "COMPSsWorker01"}, waiting), tick)
    stream = EventStream("compss-run")
    reader = CompssMonitorReader(log_dir, stream, app="taskGroups.py")

    first = reader.poll()
    check(first)
    assert [e["seq"] for e in first] == list(range(1, len(first) + 1))
    assert first[0]["type"] == "run" and first[0]["state"] == "running"
    assert first[0]["info"]["runtime"] == "COMPSs"
    now = states(first)
    assert all(now[t] == "done" for t in range(1, 13))
    assert now[13] == "running"
    assert now[16] == now[19] == now[22] == "ready"  # no task dependency left
    assert now[14] == now[24] == "pending"
    # first event of a task carries name, deps, groups
    firsts = {}
    for e in first:
        if e["type"] == "task":
            firsts.setdefault(e["task"], e)
    assert firsts[2]["name"] == "taskGroups.write_one" and firsts[2]["deps"] == [1]
    assert firsts[2]["groups"] == ["bigGroup", "group0"]
    assert firsts[23]["name"] == "taskGroups.write_two" and firsts[23]["deps"] == [22]
    running = next(e for e in first if e.get("task") == 13 and e["state"] == "running")
    assert running["worker"] == "COMPSsWorker01" and running["attempt"] == 1
    done = [e for e in first if e.get("state") == "done"]
    assert len(done) == 12 and "name" not in done[0]  # later events carry only the change

    assert reader.poll() == []  # nothing changed on disk
    os.utime(monitor / "current_graph.dot", ns=(tick[0] * 10**9, tick[0] * 10**9))
    assert reader.poll() == []  # same signature: nothing re-read

    # the runtime moves on: 13..21 finished, 22 and 23 waiting, 24 running
    write(monitor / "current_graph.dot",
          current_graph({24: "COMPSsWorker01"}, [(22, WHITE), (23, WHITE)]), tick)
    second = reader.poll()
    check(second)
    assert [e["seq"] for e in second] == list(range(len(first) + 1, stream.last_seq + 1))
    now = states(second)
    assert all(now[t] == "done" for t in range(13, 22))
    assert now[24] == "running"
    assert 22 not in now and 23 not in now  # unchanged: no event
    assert reader.poll() == []

    # newer runtimes list per-task states in COMPSs_state.xml: failure comes from there
    write(monitor / "COMPSs_state.xml", STATE_XML, tick)
    third = reader.poll()
    check(third)
    assert states(third) == {22: "done", 23: "failed"}
    failed = next(e for e in third if e["state"] == "failed")
    assert failed["final"] is True

    end = reader.finish("failed", error="task 23 failed")
    check(end)
    assert states(end) == {24: "cancelled"}
    assert end[-1]["type"] == "run" and end[-1]["state"] == "failed"
    assert end[-1]["counts"] == {"done": 22, "failed": 1, "cancelled": 1}
    assert reader.poll() == [] and reader.finish() == []
    seqs = [e["seq"] for e in stream.events()]
    assert seqs == list(range(1, len(seqs) + 1))


def test_without_current_graph_nothing_is_called_done(log_dir: Path) -> None:
    stream = EventStream("r")
    reader = CompssMonitorReader(log_dir / "monitor", stream)
    events = reader.poll()
    check(events)
    assert set(states(events).values()) == {"pending"}  # finished or waiting: unknown
    end = reader.finish("done")
    check(end)
    assert end[-1]["counts"] == {"done": 24}


def test_empty_or_half_written_files(tmp_path: Path) -> None:
    stream = EventStream("r")
    reader = CompssMonitorReader(tmp_path, stream)
    assert reader.poll() == []  # no monitor dir yet
    (tmp_path / "monitor").mkdir()
    (tmp_path / "monitor" / "COMPSs_state.xml").write_text("<COMPSsState><Resou")
    assert reader.poll() == []
    assert stream.last_seq == 0


def test_parse_state_xml() -> None:
    state = parse_compss_state(STATE_XML)
    assert state.resources["COMPSsWorker01"]["TotalCPUComputingUnits"] == "4"
    assert state.running_on == {24: "COMPSsWorker01"}
    assert state.task_states == {23: "failed", 22: "done"}
    assert state.cores["taskGroups.write_one"]["ExecutedCount"] == "21"


def test_follow_until_stopped(log_dir: Path) -> None:
    stream = EventStream("r")
    reader = CompssMonitorReader(log_dir, stream)
    stop = threading.Event()
    seen = threading.Event()
    stream.subscribe(lambda e: seen.set())
    thread = threading.Thread(target=reader.follow, args=(0.01, stop))
    thread.start()
    assert seen.wait(5)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert stream.last_seq == 25  # run event + one first event per task
