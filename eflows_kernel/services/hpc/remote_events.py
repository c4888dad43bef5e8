"""Follow a run's event log on a cluster over SSH: low latency, resumable, no gap, no duplicate.

The remote writer (:class:`eflows_kernel.events.log.EventLogWriter`) appends one JSON line
per event and flushes at least every 50 ms. :class:`RemoteEventTail` keeps one long-lived
exec channel running ``tail -c +<offset+1> -F <path>`` and reads its stdout as it arrives,
so an event costs one inotify wake-up plus one SSH packet, and nothing ever re-reads the
whole file (an SFTP stat/read loop was measured too; it is kept as ``mode="sftp"`` for
sites without GNU ``tail``, but its latency is bounded below by its poll interval).

What makes it safe to resume: the tail remembers the byte offset just past the last
*complete* line it consumed and the ``seq`` of the last event it delivered. After any
connection loss it reconnects through ``connect()`` (exponential backoff, capped) and
restarts ``tail`` at that offset, and it never delivers ``seq <= last``; a ``seq`` that
jumps forward is filled by re-reading the file once, or raises :class:`EventGapError`.
"""

from __future__ import annotations

import json
import logging
import shlex
import threading
import time
from collections.abc import Callable
from typing import Any

import paramiko

from eflows_kernel.services.errors import ServiceError
from eflows_kernel.services.hpc.ssh import (
    AuthenticationFailed,
    HostKeyChangedError,
    HostKeyNotTrusted,
)

log = logging.getLogger(__name__)

FINAL_RUN_STATES = frozenset({"done", "failed", "cancelled"})
_RECV_TIMEOUT = 0.2  # how often a blocked read looks at ``stop``; not a poll of the file
_RECV_SIZE = 65536

# Errors that no reconnect can cure: retrying them would only hide them from the user.
_FATAL_CONNECT_ERRORS = (HostKeyChangedError, HostKeyNotTrusted, AuthenticationFailed)


class RemoteTailError(ServiceError):
    """Following the remote event log failed for good (gave up reconnecting, tail failed)."""

    status = 502


class EventGapError(RemoteTailError):
    """The log jumps over sequence numbers that re-reading the file could not recover."""


class _ConnectionLost(Exception):
    """Internal: the SSH connection or the remote tail ended; reconnect and resume."""


def is_final(event: dict[str, Any]) -> bool:
    """The run's last event: nothing can follow it in this log."""
    return event.get("type") == "run" and event.get("state") in FINAL_RUN_STATES


class RemoteEventTail:
    """Delivers the events of a remote JSON-lines log to ``on_event``, once each and in order.

    ``from_seq``: events with ``seq <= from_seq`` were seen already (a resume).
    ``from_offset``: optional byte offset where ``from_seq``'s line ended, as saved in
    :attr:`offset` by a previous tail; it saves re-reading the start of a long log. A wrong
    hint is detected (a partial first line or a gap) and the log is re-read from 0.
    ``until_run_end``: stop after the run's final event (``type: run``, state
    done/failed/cancelled); False keeps following until ``stop`` is set.
    ``give_up_after``: seconds of failing to (re)connect after which :class:`RemoteTailError`
    is raised. ``backoff``: (first, cap) of the exponential reconnect delay.
    ``mode``: ``"tail"`` (streamed exec channel, default) or ``"sftp"`` (stat/read loop
    every ``poll_interval`` seconds, for sites without a ``tail -F``).
    ``shared_client``: ``connect`` returns a pooled connection that others use too; the
    tail then only closes its own channel, and a dead pooled client is replaced by the pool.
    """

    def __init__(self, connect: Callable[[], paramiko.SSHClient], remote_path: str,
                 on_event: Callable[[dict[str, Any]], None], *, from_seq: int = 0,
                 from_offset: int = 0, stop: threading.Event | None = None,
                 until_run_end: bool = True, give_up_after: float = 60.0,
                 backoff: tuple[float, float] = (0.2, 5.0), mode: str = "tail",
                 poll_interval: float = 0.1, keepalive: int = 5,
                 shared_client: bool = False) -> None:
        if mode not in ("tail", "sftp"):
            raise ValueError(f"mode must be 'tail' or 'sftp', not {mode!r}")
        self.connect = connect
        self.remote_path = remote_path
        self.on_event = on_event
        self.last_seq = from_seq
        self.offset = from_offset
        self._offset_is_hint = from_offset > 0
        self.stop = stop if stop is not None else threading.Event()
        self.until_run_end = until_run_end
        self.give_up_after = give_up_after
        self.backoff = backoff
        self.mode = mode
        self.poll_interval = poll_interval
        self.keepalive = keepalive
        self.shared_client = shared_client  # ``connect`` lends a pooled client: never close it
        self.finished = False  # True once the run's final event was delivered
        self.reconnects = 0
        self.delivered = 0
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._client: paramiko.SSHClient | None = None

    # ---- public -------------------------------------------------------------------------

    def start(self) -> threading.Thread:
        """Run in a daemon thread; :meth:`join` waits and re-raises its error."""
        self._thread = threading.Thread(target=self._run_catching, daemon=True,
                                        name=f"eflows-remote-tail:{self.remote_path}")
        self._thread.start()
        return self._thread

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True if it ended. Raises what ended it, if it failed."""
        if self._thread is None:
            raise RuntimeError("start() was not called")
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        """The following thread runs (started, not ended, not failed)."""
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Like :meth:`join` but never raises: True if the thread has ended."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def run(self) -> None:
        """Follow the log until the final run event (or ``stop``); blocking."""
        failing_since: float | None = None
        delay = self.backoff[0]
        try:
            while not self._done():
                try:
                    self._client = self.connect()
                except _FATAL_CONNECT_ERRORS:
                    raise
                except Exception as error:  # SiteUnreachable, socket errors, paramiko...
                    now = time.monotonic()
                    failing_since = failing_since if failing_since is not None else now
                    if now - failing_since >= self.give_up_after:
                        raise RemoteTailError(
                            f"gave up following {self.remote_path}: no SSH connection for "
                            f"{now - failing_since:.1f} s (last error: {error})",
                            path=self.remote_path, last_seq=self.last_seq) from error
                    log.info("remote tail %s: connect failed (%s), retry in %.1f s",
                             self.remote_path, error, delay)
                    self.stop.wait(delay)
                    delay = min(delay * 2, self.backoff[1])
                    continue
                failing_since, delay = None, self.backoff[0]
                try:
                    transport = self._client.get_transport()
                    if transport is not None and self.keepalive:
                        transport.set_keepalive(self.keepalive)
                    if self.mode == "tail":
                        self._stream_tail(self._client)
                    else:
                        self._poll_sftp(self._client)
                except (_ConnectionLost, paramiko.SSHException, OSError, EOFError) as error:
                    if self._done():
                        break
                    self.reconnects += 1
                    log.info("remote tail %s: connection lost (%s); resuming at offset %d "
                             "after seq %d", self.remote_path, error or type(error).__name__,
                             self.offset, self.last_seq)
                finally:
                    self._close()
        finally:
            self._close()

    # ---- the two readers ----------------------------------------------------------------

    def _stream_tail(self, client: paramiko.SSHClient) -> None:
        """One ``tail -F`` exec channel; returns when done, raises _ConnectionLost on EOF."""
        # -s 0.1: if tail has to poll (the file was missing when it started), it polls
        # often; with the file present it is woken by inotify anyway.
        command = (f"exec tail -s 0.1 -c +{self.offset + 1} -F "
                   f"{shlex.quote(self.remote_path)}")
        channel = client.get_transport().open_session()  # type: ignore[union-attr]
        try:
            channel.exec_command(command)
            channel.settimeout(_RECV_TIMEOUT)
            buffer = b""
            while not self._done():
                try:
                    chunk = channel.recv(_RECV_SIZE)
                except TimeoutError:
                    transport = client.get_transport()
                    if transport is None or not transport.is_active():
                        raise _ConnectionLost("SSH transport closed") from None
                    continue
                if not chunk:
                    self._tail_ended(channel, client)
                buffer = self._consume(buffer + chunk, client)
        finally:
            channel.close()

    def _tail_ended(self, channel: paramiko.Channel, client: paramiko.SSHClient) -> None:
        """EOF on the channel: a dropped connection (resume) or a failed ``tail`` (raise)."""
        transport = client.get_transport()
        if transport is not None and transport.is_active() and channel.exit_status_ready():
            status = channel.recv_exit_status()
            stderr = b""
            while channel.recv_stderr_ready():
                stderr += channel.recv_stderr(_RECV_SIZE)
            if status not in (-1, 0) or stderr:
                raise RemoteTailError(
                    f"'tail -F {self.remote_path}' ended on the site with status {status}: "
                    f"{stderr.decode(errors='replace').strip() or 'no message'}",
                    path=self.remote_path)
        raise _ConnectionLost("remote tail ended (EOF)")

    def _poll_sftp(self, client: paramiko.SSHClient) -> None:
        """Stat and read the new bytes every ``poll_interval``: the fallback reader."""
        sftp = client.open_sftp()
        try:
            sftp.get_channel().settimeout(max(10.0, self.keepalive * 3))
            buffer = b""
            while not self._done():
                try:
                    size = sftp.stat(self.remote_path).st_size or 0
                except FileNotFoundError:
                    size = 0
                end = self.offset + len(buffer)
                if size > end:
                    with sftp.open(self.remote_path, "rb") as handle:
                        handle.seek(end)
                        buffer = self._consume(buffer + handle.read(size - end), client)
                elif size < self.offset:
                    raise RemoteTailError(f"{self.remote_path} shrank below the offset already "
                                          f"read ({size} < {self.offset})",
                                          path=self.remote_path)
                else:
                    self.stop.wait(self.poll_interval)
        finally:
            sftp.close()

    # ---- lines, sequence numbers, gaps --------------------------------------------------

    def _consume(self, data: bytes, client: paramiko.SSHClient) -> bytes:
        """Deliver every complete line of ``data``; returns the partial tail for later.

        ``data`` starts exactly at :attr:`offset`, so after each complete line the offset
        moves past its newline: a reconnect resumes at a line start, never mid-line.
        """
        base, start = self.offset, 0
        while not self._done():
            newline = data.find(b"\n", start)
            if newline < 0:
                break
            line = data[start:newline]
            start = newline + 1
            if line.strip():
                try:
                    event = json.loads(line)
                except ValueError:
                    if self._offset_is_hint:
                        self._restart_from_zero("the saved offset is not at a line start")
                        raise _ConnectionLost("re-reading from offset 0") from None
                    raise RemoteTailError(
                        f"{self.remote_path}: the line at byte {base + start - len(line) - 1} "
                        f"is not JSON: {line[:200]!r}", path=self.remote_path) from None
                self._offset_is_hint = False
                self._accept(event, client)
            self.offset = base + start
        return data[start:]

    def _restart_from_zero(self, why: str) -> None:
        log.warning("remote tail %s: %s; re-reading from the start", self.remote_path, why)
        self.offset = 0
        self._offset_is_hint = False

    def _accept(self, event: dict[str, Any], client: paramiko.SSHClient) -> None:
        seq = int(event["seq"])
        if seq <= self.last_seq:  # already delivered (resume, or a re-read after reconnect)
            # Resuming after the final event: nothing more will come, so do not wait forever.
            self.finished = self.finished or (self.until_run_end and is_final(event))
            return
        if seq > self.last_seq + 1:
            for missing in self._fill_gap(client, seq):
                self._deliver(missing)
        self._deliver(event)

    def _deliver(self, event: dict[str, Any]) -> None:
        self.on_event(event)
        self.last_seq = int(event["seq"])
        self.delivered += 1
        if self.until_run_end and is_final(event):
            self.finished = True

    def _fill_gap(self, client: paramiko.SSHClient, seq: int) -> list[dict[str, Any]]:
        """Re-read the whole file once for the events between ``last_seq`` and ``seq``."""
        wanted = range(self.last_seq + 1, seq)
        found: dict[int, dict[str, Any]] = {}
        with client.open_sftp() as sftp, sftp.open(self.remote_path, "rb") as handle:
            for raw in handle.read().split(b"\n"):
                try:
                    event = json.loads(raw)
                except ValueError:
                    continue  # blank or still-partial last line
                if isinstance(event, dict) and event.get("seq") in wanted:
                    found.setdefault(int(event["seq"]), event)
        missing = [n for n in wanted if n not in found]
        if missing:
            raise EventGapError(
                f"{self.remote_path}: events {missing[0]}..{missing[-1]} are missing (seq "
                f"jumped from {self.last_seq} to {seq}) and are not in the file either",
                path=self.remote_path, last_seq=self.last_seq, next_seq=seq)
        log.warning("remote tail %s: filled a gap of %d event(s) before seq %d",
                    self.remote_path, len(wanted), seq)
        return [found[n] for n in wanted]

    # ---- plumbing -----------------------------------------------------------------------

    def _done(self) -> bool:
        return self.finished or self.stop.is_set()

    def _close(self) -> None:
        client, self._client = self._client, None
        if client is not None and not self.shared_client:
            try:
                client.close()
            except Exception:  # already broken: nothing left to release
                log.debug("closing the SSH client failed", exc_info=True)

    def _run_catching(self) -> None:
        try:
            self.run()
        except BaseException as error:  # kept for join(); a daemon thread must not just die
            self.error = error
            log.error("remote tail %s failed: %s", self.remote_path, error)
