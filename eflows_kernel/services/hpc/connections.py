"""One authenticated SSH connection per (site, credential), shared by every operation.

A deployment talks to its site many times (environment check, stage-in, sbatch, the
event tail, Slurm polling, logs, stage-out, cancel); 50 runs on one site must not mean
50 times that many logins. Sites with a one-time-code login would ask the user for a code
at every step otherwise: a pooled connection is authenticated once and kept alive.

A dropped connection (sshd restart, network blip) is replaced on the next ``get`` with
exponential backoff between attempts; errors that retrying cannot fix (host key changed,
key not authorized) are raised at once so the user sees what to do.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator

import paramiko

from eflows_kernel.services.hpc import ssh

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15
WORK_SLOTS = 3  # deployments (connect, environment, stage-in, submit) at once
QUICK_SLOTS = 2  # ends of runs and re-attaches, so long deployments never hold them up
CHANNEL_RETRY_SECONDS = 60.0
Answers = dict[str, str]  # {"password": ..., "otp": ...}: what an interactive login asks
Opener = Callable[[Answers | None], paramiko.SSHClient]


def wait_for_free_sessions(transport: paramiko.Transport,
                           patience: float = CHANNEL_RETRY_SECONDS) -> None:
    """Make ``transport`` retry a refused channel open instead of failing at once.

    sshd allows ``MaxSessions`` (10 by default) channels per connection; many runs
    sharing one connection (50 re-attaching after a restart, say) open more than that
    for a moment. A refusal while the connection is healthy means "busy": waiting a
    little and trying again is right; giving the run up is not.
    """
    open_channel = transport.open_channel

    def patient_open_channel(*args: object, **kwargs: object) -> paramiko.Channel:
        delay, deadline = 0.05, time.monotonic() + patience
        while True:
            try:
                return open_channel(*args, **kwargs)  # type: ignore[arg-type]
            except paramiko.SSHException:
                if not transport.is_active() or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    transport.open_channel = patient_open_channel  # type: ignore[method-assign]


def is_alive(client: paramiko.SSHClient | None) -> bool:
    transport = client.get_transport() if client is not None else None
    return bool(transport is not None and transport.is_active() and transport.is_authenticated())


class PooledConnection:
    """A connection that re-opens itself; ``get`` always returns a live client or raises."""

    def __init__(self, opener: Opener, name: str, *, backoff: tuple[float, float] = (0.5, 8.0),
                 give_up_after: float = 60.0) -> None:
        self.opener = opener
        self.name = name
        self.backoff = backoff
        self.give_up_after = give_up_after
        self.reconnects = 0
        # Deployments working on the site at once over this connection (each holds up to
        # two channels): with the poller's and a log read's, under sshd's MaxSessions=10.
        self._work_slots = threading.BoundedSemaphore(WORK_SLOTS)
        self._quick_slots = threading.BoundedSemaphore(QUICK_SLOTS)
        self.identity: tuple[object, ...] | None = None  # what it logs in to, as which login
        self._answers: Answers | None = None  # for the next login only, then forgotten
        self._interactive = False
        self._client: paramiko.SSHClient | None = None
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"PooledConnection({self.name!r}, alive={is_alive(self._client)})"

    def get(self) -> paramiko.SSHClient:
        """The live client, reconnecting (with backoff) when the previous one dropped."""
        with self._lock:
            if self._closed:
                raise ssh.SSHError(f"the connection to {self.name} is closed")
            if is_alive(self._client):
                return self._client  # type: ignore[return-value]
            if self._client is not None:
                self._client.close()
                self.reconnects += 1
                log.info("eflows: reconnecting to %s", self.name)
            self._client = self._open_with_backoff()
            return self._client

    def offer(self, answers: Answers | None) -> None:
        """A password or one-time code for the next login; unused (and dropped) if the
        connection is alive: a user with a one-time-code login is asked once, not per step."""
        if not answers:
            return
        with self._lock:
            self._answers = None if is_alive(self._client) else dict(answers)

    @property
    def interactive(self) -> bool:
        """Opened with answers the user typed: it cannot be re-opened without them."""
        return self._interactive

    @property
    def asks_user(self) -> bool:
        """Its login takes what the user typed (a password or code given for the next
        login, or already used): work on it shares this client, never opens a second.
        Waits for a login in progress, which may be using those answers."""
        with self._lock:
            return self._interactive or self._answers is not None

    @contextlib.contextmanager
    def work_slot(self) -> Iterator[None]:
        """Hold one of the connection's few slots for a multi-command step."""
        with self._work_slots:
            yield

    @contextlib.contextmanager
    def quick_slot(self) -> Iterator[None]:
        """A slot for a short step (a run's end, a re-attach)."""
        with self._quick_slots:
            yield

    def fresh(self) -> paramiko.SSHClient:
        """A new, separate connection (for parallel transfer streams); the caller closes it.

        Not for an interactive login (it would ask the user again): check ``interactive``.
        """
        if self._interactive:
            raise ssh.AuthenticationFailed("no second connection without asking the user again")
        return self._open_with_backoff()

    def _open_with_backoff(self) -> paramiko.SSHClient:
        delay, deadline = self.backoff[0], time.monotonic() + self.give_up_after
        while True:
            answers, self._answers = self._answers, None  # used once, whatever happens
            try:
                client = self.opener(answers)
                self._interactive = self._interactive or bool(answers)
            except ssh.AuthenticationFailed as error:
                if self._interactive:
                    raise ssh.AuthenticationFailed(
                        f"{error}; the connection to {self.name} was opened with a password "
                        "or one-time code and dropped: give it again to go on") from None
                raise
            except (ssh.HostKeyChangedError, ssh.HostKeyNotTrusted):
                raise  # retrying cannot fix these: the user has to act
            except ssh.SSHError:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, self.backoff[1])
                continue
            transport = client.get_transport()
            if transport is not None:
                transport.set_keepalive(KEEPALIVE_SECONDS)
                wait_for_free_sessions(transport)
            return client

    def drop(self) -> None:
        """Forget the current client (it failed mid-operation); the next ``get`` reconnects."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._client is not None:
                self._client.close()
                self._client = None


class ConnectionPool:
    """``PooledConnection``s by (site id, credential id), made on first use."""

    def __init__(self, open_site: Callable[[str, str | None, Answers | None],
                                           paramiko.SSHClient],
                 give_up_after: float = 60.0) -> None:
        self.open_site = open_site
        self.give_up_after = give_up_after
        self._connections: dict[tuple[str, str | None], PooledConnection] = {}
        self._lock = threading.Lock()

    def connection(self, site_id: str, credential_id: str | None,
                   label: str | None = None,
                   identity: tuple[object, ...] | None = None) -> PooledConnection:
        """The pooled connection; ``identity`` (host, port, login, host key) changed since
        it was opened means the site was edited or re-trusted: its old session is dropped,
        never reused for the new settings."""
        key = (site_id, credential_id)
        with self._lock:
            connection = self._connections.get(key)
            if connection is None:
                connection = PooledConnection(
                    lambda answers: self.open_site(site_id, credential_id, answers),
                                              label or site_id,
                                              give_up_after=self.give_up_after)
                self._connections[key] = connection
            if identity is not None and connection.identity != identity:
                if connection.identity is not None:
                    log.info("eflows: %s changed; its connection is renewed", label or site_id)
                    connection.drop()
                connection.identity = identity
            return connection

    def is_open(self, site_id: str, credential_id: str | None) -> bool:
        with self._lock:
            connection = self._connections.get((site_id, credential_id))
        return connection is not None and is_alive(connection._client)

    def forget(self, site_id: str) -> None:
        """Close a site's connections (its host key or config changed)."""
        with self._lock:
            doomed = [k for k in self._connections if k[0].split("#", 1)[0] == site_id]
            connections = [self._connections.pop(k) for k in doomed]
        for connection in connections:
            connection.close()

    def close(self) -> None:
        with self._lock:
            connections, self._connections = list(self._connections.values()), {}
        for connection in connections:
            connection.close()
