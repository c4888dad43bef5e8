"""The one writer (EventStream, mirroring events numbered elsewhere) and the one follower."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eflows_kernel.events import EventStream, Follower, read_events


def test_a_resumed_log_continues_its_numbering_and_mirrors_a_run_numbered_elsewhere(
        tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    first = EventStream.resume("run-1", path)
    assert [first.emit("stage", stage="connect", state="running")["seq"] for _ in range(2)] \
        == [1, 2]
    first.close()
    again = EventStream.resume("run-1", path)  # a server restarted: its numbers go on
    seen: list[int] = []
    again.subscribe(lambda e: seen.append(e["seq"]))
    assert again.last_seq == 2 and again.emit("log", message="again")["seq"] == 3
    run = {"v": 1, "run": "run-1", "ts": 0.0, "type": "run", "state": "running"}
    assert again.mirror({**run, "seq": 5})  # the run on the site numbered it (4 comes late)
    assert not again.mirror({**run, "seq": 4})  # behind: seen as already had
    assert not again.mirror({**run, "seq": 5})  # a duplicate after a reconnect
    assert again.emit("stage", stage="stage-out", state="running")["seq"] == 6
    again.close()
    assert [e["seq"] for e in read_events(path)] == [1, 2, 3, 5, 6] and seen == [3, 5, 6]
    assert again.events() == []  # a resumed stream keeps no history: the file has it


@dataclass
class Run:
    finished: bool = False


class ListFollower(Follower):
    def __init__(self, run: Run, events: list[dict[str, Any]], from_seq: int = 0) -> None:
        super().__init__(from_seq)
        self.run, self.events = run, events
        self.reads = 0

    def _state(self) -> Run:
        return self.run

    def _read(self) -> list[dict[str, Any]]:
        self.reads += 1
        return list(self.events)  # everything there is: the follower drops what it had


def test_the_follower_delivers_each_event_once_and_ends_after_the_last() -> None:
    run, log = Run(), [{"seq": 1}, {"seq": 2}]
    follower = ListFollower(run, log, from_seq=1)
    assert follower.poll() == [{"seq": 2}] and follower.last_seq == 2
    assert follower.poll() == [] and not follower.done  # not over: more may come
    log.append({"seq": 3})
    run.finished = True  # it ended after writing 3: 3 is still delivered
    assert follower.poll() == [{"seq": 3}] and not follower.done
    assert follower.poll() == [] and follower.done and follower.latest is run
    reads = follower.reads
    assert follower.poll() == [] and follower.reads == reads  # done: nothing is read again


def test_following_blocks_until_the_run_is_over() -> None:
    run, log = Run(finished=True), [{"seq": n} for n in (1, 2, 3)]
    assert [e["seq"] for e in ListFollower(run, log).follow(interval=0.01)] == [1, 2, 3]
    assert [e["seq"] for e in ListFollower(run, log, from_seq=2)] == [3]
