"""The follow sidecar against a fake runtime writing real COMPSs graphs progressively."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from eflows_kernel.compss.follow import find_monitor_dir, follow
from eflows_kernel.events import EventStream, read_events, validate_event
from tests.compss.fake_runtime import install_fake

FAST = {**os.environ, "FAKE_COMPSS_TICK": "0.25", "FAKE_COMPSS_STEPS": "4"}


def sidecar(tmp_path: Path, pid: int, first_seq: int = 7,
            interval: float = 0.1) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "eflows_kernel.compss.follow", "--log-dir",
         str(tmp_path / "logs"), "--event-log", str(tmp_path / "events.jsonl"),
         "--run-id", "r1", "--first-seq", str(first_seq), "--pid", str(pid),
         "--exit-file", str(tmp_path / "status"), "--interval", str(interval),
         "--app", "taskGroups.py"], text=True, stderr=subprocess.PIPE)


def wait_for_event(path: Path, wanted: Callable[[dict], bool], timeout: float = 60) -> None:
    """Return once the event log at ``path`` holds an event ``wanted`` accepts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and any(wanted(e) for e in read_events(path)):
            return
        time.sleep(0.02)
    raise AssertionError(f"no such event in {path} within {timeout} s")


def checked(path: Path, first_seq: int) -> list[dict]:
    events = read_events(path)
    for event in events:
        validate_event(event)
    assert [e["seq"] for e in events] == list(range(first_seq, first_seq + len(events)))
    assert events[0]["type"] == "run" and events[0]["state"] == "starting"
    assert events[-1]["type"] == "run"
    return events


@pytest.mark.parametrize("status", [0, 3])
def test_sidecar_follows_the_runtime_to_its_exit_status(tmp_path: Path, status: int) -> None:
    fake = install_fake(tmp_path / "bin", "runcompss" if status == 0 else "runcompss-fail")
    # The fake holds its first tick (a task running on COMPSsWorker01) until the sidecar has
    # reported it: on a loaded machine the sidecar may start after a timed tick is over.
    hold = tmp_path / "seen-running"
    # the log dir does not exist yet when the sidecar starts: the runtime creates it
    runtime = subprocess.Popen([str(fake), f"--base_log_dir={tmp_path / 'logs'}",
                                "--monitoring=250", "/apps/taskGroups.py", "x"],
                               cwd=tmp_path, env={**FAST, "FAKE_COMPSS_HOLD": str(hold)},
                               stdout=subprocess.DEVNULL)
    follower = sidecar(tmp_path, runtime.pid)
    try:
        wait_for_event(tmp_path / "events.jsonl",
                       lambda e: e["type"] == "task" and e["state"] == "running")
    finally:
        hold.touch()
    assert runtime.wait(30) == status
    (tmp_path / "status").write_text(f"{status}\n")  # what the job script does after wait
    assert follower.wait(30) == (0 if status == 0 else 1), follower.stderr.read()

    events = checked(tmp_path / "events.jsonl", 7)
    assert any(e["type"] == "run" and e["state"] == "running" for e in events)
    tasks = [e for e in events if e["type"] == "task"]
    assert len({e["task"] for e in tasks}) == 24
    running = [e for e in tasks if e["state"] == "running"]
    assert running and all(e["worker"] == "COMPSsWorker01" for e in running)
    finals = {e["task"]: e["state"] for e in tasks}
    assert set(finals.values()) == {"done"}  # the fake's last tick has every task finished
    final = events[-1]
    assert final["counts"] == {"done": 24}
    if status == 0:
        assert final["state"] == "done" and "error" not in final
    else:
        assert final["state"] == "failed"
        assert "runcompss exited with status 3" in final["error"]
        assert str(tmp_path / "logs" / "taskGroups_01") in final["error"]


def test_progress_is_live_not_only_at_the_end(tmp_path: Path) -> None:
    fake = install_fake(tmp_path / "bin")
    slow = {**FAST, "FAKE_COMPSS_TICK": "0.6"}
    runtime = subprocess.Popen([str(fake), f"--log_dir={tmp_path / 'logs' / 'app'}",
                                "taskGroups.py"], cwd=tmp_path, env=slow,
                               stdout=subprocess.DEVNULL)
    follower = sidecar(tmp_path, runtime.pid)
    try:
        deadline = time.monotonic() + 20
        seen: list[dict] = []
        while time.monotonic() < deadline and runtime.poll() is None:
            if (tmp_path / "events.jsonl").exists():
                seen = read_events(tmp_path / "events.jsonl")
                if any(e.get("state") == "done" and e["type"] == "task" for e in seen):
                    break
            time.sleep(0.05)
        assert runtime.poll() is None, "the runtime ended before any task showed done"
        assert any(e["type"] == "task" and e["state"] == "done" for e in seen)
        assert any(e["type"] == "task" and e["state"] in ("pending", "ready", "running")
                   and not any(f.get("task") == e["task"] and f["state"] == "done"
                               for f in seen) for e in seen)
    finally:
        runtime.wait(30)
        (tmp_path / "status").write_text("0")
        follower.wait(30)
    assert checked(tmp_path / "events.jsonl", 7)[-1]["state"] == "done"


def test_sigterm_ends_the_run_cancelled(tmp_path: Path) -> None:
    fake = install_fake(tmp_path / "bin")
    runtime = subprocess.Popen([str(fake), f"--base_log_dir={tmp_path / 'logs'}",
                                "taskGroups.py"], cwd=tmp_path,
                               env={**FAST, "FAKE_COMPSS_TICK": "5"},
                               stdout=subprocess.DEVNULL)
    follower = sidecar(tmp_path, runtime.pid, first_seq=1)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
                e["type"] == "task" for e in read_events(tmp_path / "events.jsonl")
                if (tmp_path / "events.jsonl").exists()):
            time.sleep(0.05)
        follower.send_signal(signal.SIGTERM)
        assert follower.wait(20) == 1
    finally:
        runtime.kill()
        runtime.wait(10)
    events = checked(tmp_path / "events.jsonl", 1)
    assert events[-1]["state"] == "cancelled"
    assert "stopped" in events[-1]["error"]
    finals = {e["task"]: e["state"] for e in events if e["type"] == "task"}
    assert len(finals) == 24 and "cancelled" in finals.values()


def test_runtime_gone_without_status_is_a_failure(tmp_path: Path) -> None:
    """A killed job script never writes the status file: the pid is what tells the end."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    stream = EventStream("r", first_seq=3)
    start = time.monotonic()
    final = follow(tmp_path / "never", stream, pid=proc.pid, exit_file=tmp_path / "none",
                   interval=0.05, exit_grace=0.3)
    assert time.monotonic() - start < 5
    assert final["state"] == "failed" and "without an exit status" in final["error"]
    events = stream.events()
    assert [e["seq"] for e in events] == [3, 4]
    assert [e["state"] for e in events] == ["starting", "failed"]
    for event in events:
        validate_event(event)


def test_no_monitor_files_and_success(tmp_path: Path) -> None:
    """An application with no task at all still ends ``done``, with empty counts."""
    (tmp_path / "status").write_text("0")
    stream = EventStream("r")
    final = follow(tmp_path / "logs", stream, pid=None, exit_file=tmp_path / "status",
                   interval=0.05)
    assert final["state"] == "done" and final["counts"] == {}
    assert [e["seq"] for e in stream.events()] == [1, 2]


def test_stop_without_status_while_waiting(tmp_path: Path) -> None:
    stop = threading.Event()
    stream = EventStream("r")
    timer = threading.Timer(0.3, stop.set)
    timer.start()
    final = follow(tmp_path, stream, pid=os.getpid(), exit_file=tmp_path / "s",
                   interval=0.05, stop=stop)
    assert final["state"] == "cancelled"


def test_find_monitor_dir_layouts(tmp_path: Path) -> None:
    assert find_monitor_dir(tmp_path / "missing") is None
    assert find_monitor_dir(tmp_path) is None
    old = tmp_path / ".COMPSs" / "app_01" / "monitor"
    new = tmp_path / ".COMPSs" / "app_02" / "monitor"
    for i, d in enumerate((old, new)):
        d.mkdir(parents=True)
        (d / "complete_graph.dot").write_text("digraph {}\n")
        os.utime(d / "complete_graph.dot", ns=((i + 1) * 10**9, (i + 1) * 10**9))
        os.utime(d, ns=((i + 1) * 10**9, (i + 1) * 10**9))
    assert find_monitor_dir(tmp_path) == new
    direct = tmp_path / "monitor"
    direct.mkdir()
    assert find_monitor_dir(tmp_path) == direct  # newest wins
    assert find_monitor_dir(tmp_path / ".COMPSs" / "app_01") == old
