"""The stream server: registrations, writers, closing, object queues, file claims.

:class:`StreamRegistry` is the whole state machine, without Dask (unit-testable,
and used in-process when no engine runs). :class:`StreamServer` installs it in the
Dask scheduler as one RPC handler, ``eflows_stream``, so every worker and the main
program see the same streams.

Semantics (PyCOMPSs'): streams are found by id, or by alias within a run; each task
that declares a stream ``STREAM_OUT`` is a writer, and the stream is closed once
every writer has called ``close()`` (or at the first ``close()`` when no writer was
declared). Objects are delivered once, to whichever consumer polls first; files
likewise under ``AT_MOST_ONCE``. A closed stream still reports "open" to a consumer
while it holds items that consumer has not polled yet, so a ``while not
is_closed(): poll()`` loop never loses the last items.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin

HANDLER = "eflows_stream"


class StreamError(Exception):
    """A request the stream server cannot satisfy (unknown stream, wrong type...)."""


@dataclass
class _Stream:
    id: str
    run: str | None
    alias: str | None
    type: str
    access_mode: str
    base_dir: str | None
    initial: frozenset[str] = frozenset()  # files already there at registration
    writers: int = 0
    closed: bool = False
    messages: deque[bytes] = field(default_factory=deque)
    delivered: set[str] = field(default_factory=set)
    waiters: list[asyncio.Event] = field(default_factory=list)


class StreamRegistry:
    """Every stream of the cluster, keyed by id (aliases resolve per run)."""

    def __init__(self) -> None:
        self._streams: dict[str, _Stream] = {}
        self._aliases: dict[tuple[str | None, str], str] = {}

    def _get(self, stream_id: str) -> _Stream:
        stream = self._streams.get(stream_id)
        if stream is None:
            raise StreamError(f"no stream with id {stream_id!r} is registered")
        return stream

    # -- requests (each returns a JSON-able dict) ---------------------------------------
    def register(self, run: str | None, alias: str | None, type: str, access_mode: str,
                 base_dir: str | None = None, initial: list[str] | None = None) -> dict:
        if alias:
            known = self._aliases.get((run, alias))
            if known is not None:
                stream = self._streams[known]
                if stream.type != type:
                    raise StreamError(f"stream alias {alias!r} is a {stream.type} stream, "
                                      f"not a {type} stream")
                return self._describe(stream)
        stream = _Stream(uuid.uuid4().hex, run, alias or None, type, access_mode, base_dir,
                         frozenset(initial or ()))
        self._streams[stream.id] = stream
        if alias:
            self._aliases[(run, alias)] = stream.id
        return self._describe(stream)

    @staticmethod
    def _describe(stream: _Stream) -> dict:
        return {"id": stream.id, "base_dir": stream.base_dir, "access_mode": stream.access_mode,
                "initial": sorted(stream.initial)}

    def add_writer(self, stream_id: str) -> dict:
        self._get(stream_id).writers += 1
        return {}

    def close(self, stream_id: str) -> dict:
        stream = self._get(stream_id)
        if stream.writers > 1:
            stream.writers -= 1
        else:
            stream.writers = 0
            stream.closed = True
        self._wake(stream)
        return {"closed": stream.closed}

    def status(self, stream_id: str, candidates: list[str] | None = None) -> dict:
        stream = self._get(stream_id)
        if not stream.closed:
            return {"closed": False}
        if stream.type == "OBJECT":
            return {"closed": not stream.messages}
        if candidates is not None:  # files under AT_MOST_ONCE: anything left to claim?
            taken = stream.delivered | stream.initial
            return {"closed": all(path in taken for path in candidates)}
        return {"closed": True}

    def publish(self, stream_id: str, messages: list[bytes]) -> dict:
        stream = self._get(stream_id)
        if stream.type != "OBJECT":
            raise StreamError(f"stream {stream_id} is a {stream.type} stream; only object "
                              "streams take published messages")
        stream.messages.extend(messages)
        self._wake(stream)
        return {}

    def take_messages(self, stream_id: str) -> dict:
        stream = self._get(stream_id)
        messages = list(stream.messages)
        stream.messages.clear()
        return {"messages": messages}

    def claim_files(self, stream_id: str, candidates: list[str]) -> dict:
        """Of the files a consumer sees, those nobody has polled yet, now its own."""
        stream = self._get(stream_id)
        new = [path for path in candidates
               if path not in stream.delivered and path not in stream.initial]
        stream.delivered.update(new)
        return {"files": new}

    # -- waiting for objects (inside the scheduler's event loop) ------------------------
    async def wait_messages(self, stream_id: str, timeout: float) -> None:
        stream = self._get(stream_id)
        if stream.messages or stream.closed or timeout <= 0:
            return
        event = asyncio.Event()
        stream.waiters.append(event)
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            if event in stream.waiters:
                stream.waiters.remove(event)

    @staticmethod
    def _wake(stream: _Stream) -> None:
        for event in stream.waiters:
            event.set()

    def handle(self, action: str, fields: dict[str, Any]) -> dict:
        """One request by name; errors come back as ``{"error": ...}``."""
        method = _ACTIONS.get(action)
        if method is None:
            return {"error": f"unknown stream request {action!r}"}
        try:
            return method(self, **fields)
        except (StreamError, TypeError) as exc:
            return {"error": str(exc)}


_ACTIONS = {
    "register": StreamRegistry.register,
    "add_writer": StreamRegistry.add_writer,
    "close": StreamRegistry.close,
    "status": StreamRegistry.status,
    "publish": StreamRegistry.publish,
    "take_messages": StreamRegistry.take_messages,
    "claim_files": StreamRegistry.claim_files,
}


class StreamServer(SchedulerPlugin):
    """Installs a :class:`StreamRegistry` in the scheduler as the ``eflows_stream`` RPC.

    Idempotent: registering it again (from another run or a worker) keeps the
    existing streams.
    """

    name = "eflows-streams"
    idempotent = True

    def __init__(self) -> None:
        self.registry = StreamRegistry()

    async def start(self, scheduler: Any) -> None:
        scheduler.handlers[HANDLER] = self._handle

    async def _handle(self, action: str, fields: dict[str, Any],
                      wait: float = 0.0) -> dict:
        if action == "take_messages" and wait > 0:
            try:
                await self.registry.wait_messages(fields.get("stream_id", ""), wait)
            except StreamError as exc:
                return {"error": str(exc)}
        return self.registry.handle(action, fields)
