"""Orderings that depend on timing, forced so they happen every time."""

from __future__ import annotations

import time

from eflows_kernel.events import EventStream
from eflows_kernel.model import compss_wait_on, task


@task(returns=1)
def plus_one(x: int) -> int:
    return x + 1


def test_a_task_that_finishes_before_submit_returns_keeps_its_result(engine, monkeypatch):
    """The worker's "done" can arrive before the submitting thread records the future."""
    submit = engine.client.submit

    def slow_submit(*args, **kwargs):
        future = submit(*args, **kwargs)
        time.sleep(0.5)  # the task is done by now
        return future

    monkeypatch.setattr(engine.client, "submit", slow_submit)
    assert compss_wait_on(plus_one(1)) == 2
    assert compss_wait_on(plus_one(plus_one(1))) == 3


def test_a_listener_subscribing_another_does_not_get_the_event_twice():
    stream = EventStream("r")
    seen: list[int] = []

    def first(event: dict) -> None:
        if event["seq"] == 1:
            stream.subscribe(lambda e: seen.append(e["seq"]), from_seq=0)

    stream.subscribe(first)
    stream.emit("run", state="running")
    stream.emit("run", state="done")
    assert seen == [1, 2]
