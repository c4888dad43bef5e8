"""priority=True: a task submitted later runs before queued normal ones."""

from __future__ import annotations

import time

from eflows_kernel.engine import ClusterConfig, Engine, EngineConfig
from eflows_kernel.model import compss_wait_on, task
from tests.conftest import REPO


def _stamp(seconds: float) -> float:
    time.sleep(seconds)
    return time.time()


# The same function (so Dask groups them alike), once as a normal task, once urgent.
stamp = task(returns=1)(_stamp)
urgent_stamp = task(returns=1, priority=True)(_stamp)


def test_priority_tasks_run_before_queued_normal_ones(tmp_path):
    """One worker slot: a priority task submitted last starts before the queued ones."""
    from eflows_kernel.compat import install_pycompss_shim

    install_pycompss_shim()
    engine = Engine(EngineConfig(cluster=ClusterConfig(
        n_workers=1, threads_per_worker=1, extra_paths=[str(REPO / "tests")]),
        event_log=tmp_path / "events.jsonl")).start()
    try:
        blocker = stamp(0.5)  # occupies the only slot while the others queue
        normal = [stamp(0.05) for _ in range(4)]
        urgent = urgent_stamp(0.05)
        finished = compss_wait_on([blocker, *normal, urgent])
    finally:
        engine.stop()
    # Dask may already have handed the first queued task to the worker with the
    # blocker; every other normal task runs after the urgent one.
    assert finished[-1] < min(finished[2:5])
    first = [e for e in engine.events.events() if e.get("task") == 6 and "name" in e]
    assert first[0]["priority"] is True
