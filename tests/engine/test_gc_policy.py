"""The run's GC policy: survivors of a full collection are frozen while a run lasts, and
given back to the collector when the last run ends (engine/gc_policy.py)."""

from __future__ import annotations

import gc
import threading

import pytest

from eflows_kernel.engine import gc_policy
from eflows_kernel.model import compss_wait_on, task
from tests.conftest import make_engine


@pytest.fixture(autouse=True)
def _no_policy_left():
    gc.unfreeze()
    yield
    while gc_policy._users:
        gc_policy.release()
    gc.unfreeze()
    assert gc_policy._freeze_survivors not in gc.callbacks


@task(returns=1)
def negate(x: int) -> int:
    return -x


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def test_a_full_collection_during_a_run_freezes_its_survivors(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert gc_policy.hold()
    kept = [Node() for _ in range(100)]
    gc.collect()
    assert gc.get_freeze_count() >= len(kept)
    # Only a full collection freezes; young ones do not. Counted in this thread only:
    # the process has Dask's threads, whose own collections may freeze meanwhile.
    freezes: list[int] = []
    real_freeze = gc.freeze
    me = threading.get_ident()
    monkeypatch.setattr(gc, "freeze", lambda: (
        freezes.append(1) if threading.get_ident() == me else None, real_freeze())[1])
    gc.collect(0)
    gc.collect(1)
    assert freezes == []
    gc.collect(2)
    assert freezes == [1]


def test_cyclic_garbage_frozen_during_a_run_is_collected_when_the_run_ends() -> None:
    import weakref

    assert gc_policy.hold()
    node = Node()
    alive = weakref.ref(node)
    gc.collect()  # node survives: frozen
    del node
    gc.collect()
    assert alive() is not None, "a frozen cycle is not walked while the run lasts"
    gc_policy.release()
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert alive() is None


def test_the_policy_stays_until_the_last_of_two_runs_ends() -> None:
    gc_policy.hold()
    gc_policy.hold()
    gc_policy.release()
    assert gc_policy._freeze_survivors in gc.callbacks
    gc.collect()
    assert gc.get_freeze_count() > 0
    gc_policy.release()
    assert gc_policy._freeze_survivors not in gc.callbacks
    assert gc.get_freeze_count() == 0
    gc_policy.release()  # one release too many changes nothing
    assert gc_policy._users == 0


def test_eflows_gc_freeze_0_turns_the_policy_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EFLOWS_GC_FREEZE", "0")
    assert not gc_policy.hold()
    gc.collect()
    assert gc.get_freeze_count() == 0
    assert gc_policy._freeze_survivors not in gc.callbacks


def test_an_engine_holds_the_policy_from_start_to_stop(dask_cluster, tmp_path) -> None:
    engine = make_engine(dask_cluster.scheduler_address, tmp_path)
    try:
        assert gc_policy._freeze_survivors in gc.callbacks
        assert compss_wait_on(negate(-3)) == 3
        gc.collect()
        assert gc.get_freeze_count() > 0
    finally:
        engine.stop()
    assert gc_policy._freeze_survivors not in gc.callbacks
    assert gc.get_freeze_count() == 0
