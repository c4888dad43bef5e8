"""pycompss.streams: items produced by one task reach another while both run."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from eflows_kernel.streams.server import StreamRegistry
from tests.pycompss.conftest import app_path, assert_exit, result_of

# What the application computes, not its workers' lifetime: shared workers.
pytestmark = pytest.mark.shared_workers


@pytest.mark.slow
def test_streams_app(run_app: Callable[..., subprocess.CompletedProcess],
                     tmp_path: Path) -> None:
    proc = run_app(app_path("streams_app", "streams_app.py"), str(tmp_path / "work"),
                   workers=3)
    assert_exit(proc)
    assert result_of(proc) == {
        # 2 sensors x 6 readings of 0, 10, ..., 50; received while the sensors ran.
        "objects": {"count": 12, "total": 300, "while_running": True},
        # 8 frames holding 1..8, each handed to a task as the main program polled.
        "main_consumer": {"frames": 8, "polled": True, "sum": 36},
        "alias": {"polled": ["hello", "from", "the", "alias"], "same_id": True},
        # Two consumers, AT_MOST_ONCE: the 5 frames once in all (not before.txt).
        "at_most_once": {"distinct": 5, "total": 5},
        # Two consumers, AT_LEAST_ONCE: each gets the 5 frames.
        "at_least_once": [5, 5],
    }


def test_the_stream_closes_when_every_writer_closed_it() -> None:
    registry = StreamRegistry()
    stream = registry.register("run", None, "OBJECT", "AT_MOST_ONCE")["id"]
    registry.add_writer(stream)
    registry.add_writer(stream)
    registry.publish(stream, [b"a"])
    registry.close(stream)
    assert registry.status(stream) == {"closed": False}
    registry.close(stream)
    # Closed, but an item is still waiting: a consumer loop must poll it first.
    assert registry.status(stream) == {"closed": False}
    assert registry.take_messages(stream) == {"messages": [b"a"]}
    assert registry.status(stream) == {"closed": True}


def test_aliases_are_per_run_and_typed() -> None:
    registry = StreamRegistry()
    first = registry.register("run1", "x", "OBJECT", "AT_MOST_ONCE")["id"]
    assert registry.register("run1", "x", "OBJECT", "AT_MOST_ONCE")["id"] == first
    assert registry.register("run2", "x", "OBJECT", "AT_MOST_ONCE")["id"] != first
    assert "error" in registry.handle("register", {"run": "run1", "alias": "x",
                                                   "type": "FILE",
                                                   "access_mode": "AT_MOST_ONCE"})
    assert registry.handle("close", {"stream_id": "nope"}) == {
        "error": "no stream with id 'nope' is registered"}


def test_files_are_claimed_once_and_preexisting_files_are_not_items() -> None:
    registry = StreamRegistry()
    stream = registry.register(None, None, "FILE", "AT_MOST_ONCE", "/d", ["/d/old"])["id"]
    assert registry.claim_files(stream, ["/d/old", "/d/a"]) == {"files": ["/d/a"]}
    assert registry.claim_files(stream, ["/d/a", "/d/b"]) == {"files": ["/d/b"]}
    registry.close(stream)
    assert registry.status(stream, ["/d/a", "/d/b", "/d/c"]) == {"closed": False}
    assert registry.status(stream, ["/d/old", "/d/a", "/d/b"]) == {"closed": True}


def test_a_poll_waits_for_the_next_object() -> None:
    registry = StreamRegistry()
    stream = registry.register(None, None, "OBJECT", "AT_MOST_ONCE")["id"]

    async def scenario() -> list[bytes]:
        async def later() -> None:
            await asyncio.sleep(0.05)
            registry.publish(stream, [b"late"])

        publisher = asyncio.create_task(later())
        await registry.wait_messages(stream, 5.0)
        await publisher
        return registry.take_messages(stream)["messages"]

    assert asyncio.run(asyncio.wait_for(scenario(), 2.0)) == [b"late"]


def test_without_an_engine_streams_work_in_process(pycompss_shim: None, tmp_path: Path) -> None:
    from pycompss.streams.distro_stream import (
        FileDistroStream,
        ObjectDistroStream,
        PscoDistroStream,
        RegistrationException,
    )

    ods = ObjectDistroStream()
    ods.publish_list([1, {"two": 2}])
    ods.close()
    assert not ods.is_closed()
    assert ods.poll() == [1, {"two": 2}]
    assert ods.is_closed()
    (tmp_path / "old.txt").write_text("x")
    fds = FileDistroStream(base_dir=str(tmp_path))
    (tmp_path / "new.txt").write_text("y")
    fds.close()
    assert fds.poll() == [str(tmp_path / "new.txt")]
    assert fds.is_closed()
    with pytest.raises(RegistrationException, match="base_dir"):
        FileDistroStream()
    with pytest.raises(RegistrationException, match="persistent storage"):
        PscoDistroStream()



@pytest.mark.slow
def test_stream_relay_app(run_app: Callable[..., subprocess.CompletedProcess]) -> None:
    """Object streams in a unittest-style application with its tasks in a package."""
    proc = run_app(app_path("stream_relay", "stream_relay.py"))
    assert_exit(proc)
    # 8 parcels of weight 1..8 (101..108 through the alias) in each of the four tests.
    assert result_of(proc) == {"passed": True, "tests": 4, "seen": {
        "faster": [8, 36], "slower": [8, 36], "per_object": [8, 36], "alias": [8, 836]}}
