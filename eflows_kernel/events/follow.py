"""Following a run: every event after a sequence number, once and in order, until it is over.

The one way every consumer follows a run (the REST stream, ``LocalClient``, the CLI
through either client, the portal's widgets). A :class:`Follower` asks whether the run
is over *before* it reads, so an event written before the end is never missed, and
it is done once the run is over and nothing more was read. Where the events are comes
from a subclass: a growing log read by byte offset (``ExecutionFollower`` in the
executions service), or the REST API (the REST client's follower).
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any


class Follower(ABC):
    """Resumable by ``seq``: a follower made with ``from_seq=n`` delivers ``n+1`` onwards."""

    def __init__(self, from_seq: int = 0) -> None:
        self.last_seq = from_seq
        self.done = False
        self.latest: Any = None  # what :meth:`_state` read last (an execution), for display

    @abstractmethod
    def _state(self) -> Any:
        """The followed run as it is now; its ``finished`` says whether it is over."""

    @abstractmethod
    def _read(self) -> list[dict[str, Any]]:
        """The events there are now after :attr:`last_seq` (complete ones only)."""

    def poll(self) -> list[dict[str, Any]]:
        """The new events, once each; sets :attr:`done` when the run is over and read."""
        if self.done:
            return []
        self.latest = self._state()
        finished = bool(self.latest.finished)
        events = []
        for event in self._read():
            seq = event.get("seq")
            if isinstance(seq, int):
                if seq <= self.last_seq:
                    continue
                self.last_seq = seq
            events.append(event)
        if finished and not events:
            self.done = True
        return events

    def follow(self, interval: float = 0.3,
               stop: threading.Event | None = None) -> Iterator[dict[str, Any]]:
        """Yield events as they come, polling every ``interval`` s while nothing does."""
        while not self.done and not (stop is not None and stop.is_set()):
            events = self.poll()
            yield from events
            if not events and not self.done:
                if stop is not None:
                    stop.wait(interval)
                else:
                    time.sleep(interval)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.follow()


__all__ = ["Follower"]
