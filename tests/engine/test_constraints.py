"""@constraint: computing_units and memory_size map onto Dask worker resources."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eflows_kernel.engine import ClusterConfig, Engine, EngineConfig
from eflows_kernel.model import EngineError, compss_wait_on, constraint, task
from tests.conftest import REPO


@constraint(computing_units=2)
@task(returns=1)
def two_cores(seconds: float) -> tuple[float, float]:
    start = time.time()
    time.sleep(seconds)
    return start, time.time()


@task(returns=1)
def one_core(seconds: float) -> tuple[float, float]:
    start = time.time()
    time.sleep(seconds)
    return start, time.time()


@task(returns=1)
@constraint(computing_units=4)
def four_cores() -> int:  # decorators in the other order work too
    return 4


@constraint(memory_size=1000)
@task(returns=1)
def huge_memory() -> int:
    return 0


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@pytest.fixture(scope="module")
def two_thread_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One worker with two threads (CPU=2): room for two 1-core tasks or one 2-core."""
    from eflows_kernel.compat import install_pycompss_shim

    install_pycompss_shim()
    tmp: Path = tmp_path_factory.mktemp("constraints")
    engine = Engine(EngineConfig(
        cluster=ClusterConfig(n_workers=1, threads_per_worker=2,
                              extra_paths=[str(REPO / "tests")]),
        event_log=tmp / "events.jsonl")).start()
    yield engine
    engine.stop()


def test_two_core_tasks_never_share_the_worker(two_thread_engine):
    # Control: the worker does run two 1-core tasks at the same time...
    a, b = compss_wait_on([one_core(1.0), one_core(1.0)])
    assert _overlap(a, b)
    # ...but never a 2-core task beside another task.
    c, d, e = compss_wait_on([two_cores(0.6), two_cores(0.6), one_core(0.6)])
    assert not _overlap(c, d)
    assert not _overlap(c, e) and not _overlap(d, e)
    first = [ev for ev in two_thread_engine.events.events()
             if ev["type"] == "task" and ev.get("name") == "two_cores"]
    assert first[0]["constraints"]["computing_units"] == 2


def test_asking_more_cores_than_any_worker_has_is_a_clear_error(two_thread_engine):
    with pytest.raises(EngineError) as info:
        four_cores()
    message = str(info.value)
    assert "four_cores" in message and "computing_units=4" in message
    assert "--threads-per-worker 4" in message


def test_asking_more_memory_than_any_worker_has_is_a_clear_error(two_thread_engine):
    with pytest.raises(EngineError, match=r"huge_memory.*memory_size=1000 GB"):
        huge_memory()


def test_constraint_values_are_checked(two_thread_engine):
    from eflows_kernel.model import TaskArgumentError, TaskDefinitionError

    # As in PyCOMPSs, a name may be a parameter or a global variable: known at the call.
    @constraint(computing_units="many")
    @task
    def bad() -> None: ...

    with pytest.raises(TaskArgumentError, match="computing_units='many'"):
        bad()
    with pytest.raises(TaskDefinitionError, match=r"computing_units='1 \+'"):
        @constraint(computing_units="1 +")
        @task
        def broken() -> None: ...
    with pytest.raises(TaskDefinitionError, match="must be > 0"):
        @constraint(memory_size=0)
        @task
        def worse() -> None: ...

