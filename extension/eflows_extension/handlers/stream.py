"""The live event stream of an execution (server-sent events), resumable by sequence number."""

from __future__ import annotations

import asyncio
import json

import tornado
from jupyter_server.auth.decorator import authorized
from tornado.iostream import StreamClosedError

from eflows_extension.handlers.base import EflowsAPIHandler, bad_request, in_thread, translated


class ExecutionEventStreamHandler(EflowsAPIHandler):
    """Server-sent events: every event after ``from_seq`` (or ``Last-Event-ID``), live.

    The stream ends once the execution is finished and every event was sent.
    """

    poll_interval = 0.05  # a stat and the new bytes of a local file: cheap, and it is the
    keepalive = 15.0      # latency a person watching a graph feels

    @tornado.web.authenticated
    @authorized
    @translated
    async def get(self, execution_id: str) -> None:
        from_seq = self.int_arg("from_seq", 0)
        assert from_seq is not None
        last = self.request.headers.get("Last-Event-ID")
        if last:
            try:
                from_seq = int(last)
            except ValueError:
                raise bad_request({"Last-Event-ID": "must be an integer"}) from None
        follower = self.eflows.executions.follower(execution_id, from_seq)  # 404 first
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        idle = 0.0
        try:
            while True:
                events = await in_thread(follower.poll)  # only the bytes appended since
                for event in events:
                    seq = event.get("seq")
                    head = f"id: {seq}\n" if seq is not None else ""
                    kind = event.get("type")
                    head += f"event: {kind}\n" if isinstance(kind, str) and kind else ""
                    self.write(f"{head}data: {json.dumps(event, default=str)}\n\n")
                if events:
                    idle = 0.0
                    await self.flush()
                elif follower.done:
                    break
                else:
                    idle += self.poll_interval
                    if idle >= self.keepalive:
                        idle = 0.0
                        self.write(": keep-alive\n\n")
                        await self.flush()
                await asyncio.sleep(self.poll_interval)
        except StreamClosedError:
            return
        self.finish()
