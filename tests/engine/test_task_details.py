"""What a task event tells besides the state: output, worker CPU and memory, worker name."""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from eflows_kernel.engine import attempt_details
from eflows_kernel.engine.attempt_details import captured_output, worker_name, worker_usage
from eflows_kernel.events import validate_event
from eflows_kernel.model import compss_wait_on, task
from tests.conftest import make_engine, task_events


@task(returns=1)
def chatty(x: int) -> int:
    print(f"working on {x}")
    print(f"careful with {x}", file=sys.stderr)
    return x


@task(returns=1, on_failure="IGNORE")
def chatty_failure(x: int) -> int:
    print(f"trying {x}")
    raise ValueError("no")


@task(returns=1)
def silent(x: int) -> int:
    return x


def test_each_task_event_carries_what_the_attempt_printed(engine):
    assert compss_wait_on([chatty(1), chatty_failure(2), silent(3)]) == [1, None, 3]
    done = task_events(engine, 1)[-1]
    assert done["state"] == "done"
    assert done["stdout"] == "working on 1\n" and done["stderr"] == "careful with 1\n"
    failed = task_events(engine, 2)[-1]
    assert failed["state"] == "failed" and failed["stdout"] == "trying 2\n"
    quiet = task_events(engine, 3)[-1]
    assert "stdout" not in quiet and "stderr" not in quiet  # nothing printed, nothing sent
    for event in engine.events.events():
        validate_event(event)  # the schema knows the new fields


def test_events_name_the_worker_and_its_cpu_and_memory(engine):
    compss_wait_on(chatty(5))
    running, done = (e for e in task_events(engine, 1) if e["state"] in ("running", "done"))
    host, _, name = running["worker_name"].partition("/")
    assert host and name and not running["worker_name"].startswith("tcp://")
    assert running["worker"].startswith("tcp://")  # the address stays for the engine
    usage = done["usage"]
    assert usage["memory_max"] > 10e6  # a Python worker process
    assert usage["cpu_max"] >= usage["cpu_mean"] >= 0 and usage["samples"] >= 1


@pytest.fixture
def two_threads(tmp_path: Path) -> Iterator[object]:
    """An engine whose only worker runs two tasks at once, in two threads."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                      dashboard_address=":0", resources={"CPU": 2, "MEMORY": 2}) as cluster:
        engine = make_engine(cluster.scheduler_address, tmp_path)
        yield engine
        engine.stop()  # type: ignore[attr-defined]


@task(returns=1)
def talk_while_others_talk(x: int) -> int:
    import time

    for i in range(20):
        print(f"task {x} line {i}")
        time.sleep(0.005)
    return x


def test_tasks_running_side_by_side_keep_their_output_apart(two_threads):
    compss_wait_on([talk_while_others_talk(i) for i in range(4)])
    for task_id in range(1, 5):
        done = task_events(two_threads, task_id)[-1]
        lines = done["stdout"].splitlines()
        assert lines == [f"task {task_id - 1} line {i}" for i in range(20)]


def test_capture_keeps_the_end_and_passes_everything_on(monkeypatch):
    original = io.StringIO()
    monkeypatch.setattr(sys, "stdout", original)
    other: list[str] = []
    with captured_output(limit=10) as output:
        print("0123456789abcdef")

        def elsewhere() -> None:  # another thread's prints are not this attempt's
            print("not mine")
            other.append("ran")

        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
    assert other == ["ran"]
    assert output.stdout == "[... 7 earlier characters not kept]\n789abcdef\n"
    assert "0123456789abcdef\n" in original.getvalue()  # the worker's own log keeps it all
    assert "not mine\n" in original.getvalue()
    assert output.fields() == {"stdout": output.stdout}


def test_usage_without_a_monitor_and_names_without_one():
    class Worker:
        name = "tcp://10.0.0.1:4321"
        address = "tcp://10.0.0.1:4321"

    assert worker_usage(Worker(), 0.0, 1.0) is None
    assert worker_name(Worker()).endswith("/4321")

    class Monitored(Worker):
        name = 3

        class monitor:  # noqa: N801 - stands for Dask's SystemMonitor
            quantities: ClassVar[dict[str, list[float]]] = {
                "time": [1.0, 2.0, 3.0], "cpu": [10.0, 90.0, 50.0], "memory": [1e8, 3e8, 2e8]}

    assert worker_name(Monitored()).endswith("/3")
    assert worker_usage(Monitored(), 1.5, 3.0) == {"cpu_mean": 70.0, "cpu_max": 90.0,
                                                   "memory_max": 3e8, "samples": 2.0}
    # Shorter than one sample interval: the latest sample.
    assert worker_usage(Monitored(), 3.1, 3.2)["cpu_mean"] == 50.0
    assert attempt_details.DETAIL_FIELDS == ("worker_name", "stdout", "stderr", "usage")
