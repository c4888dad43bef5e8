"""RemoteEventTail against the real test sshd (127.0.0.1:2222, login ``eflows``).

A writer process (run locally as root, the file chown'd to ``eflows``) plays the remote run:
it appends events through the real EventLogWriter into the login's home while the tail
follows the file over SSH. Needs root (tests/plugins/cluster.py) and fails, never skips, without it.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest

from eflows_kernel.services.credentials import CredentialVault, InMemoryCredentialRepository
from eflows_kernel.services.hpc.remote_events import EventGapError, RemoteEventTail, RemoteTailError
from eflows_kernel.services.hpc.ssh import AuthenticationFailed, SiteUnreachable
from eflows_kernel.services.sites import InMemorySiteRepository, SiteService
from tests.plugins.cluster import CLUSTER, SshdInfo

# The remote run: ``count`` events from ``first`` at ``rate`` per second, then (optionally)
# the final run event, written with the kernel's own writer (flush at least every 50 ms).
WRITER = """
import sys, time
from eflows_kernel.events.log import EventLogWriter
path, first, count, rate, final = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \\
    float(sys.argv[4]), sys.argv[5]
writer = EventLogWriter(path)
seq = first
for i in range(count):
    writer.write({"v": 1, "seq": seq, "run": "r1", "ts": time.time(), "type": "task",
                  "task": i, "state": "running"})
    seq += 1
    time.sleep(1.0 / rate)
if final != "none":
    writer.write({"v": 1, "seq": seq, "run": "r1", "ts": time.time(), "type": "run",
                  "state": final, "counts": {"done": count}})
writer.close()
"""


@pytest.fixture(scope="module")
def connect(sshd: SshdInfo) -> Callable[[], paramiko.SSHClient]:
    """How the kernel gets connections: a vault key authorized on a trusted site."""
    vault = CredentialVault(InMemoryCredentialRepository(), master_key=os.urandom(32))
    sites = SiteService(InMemorySiteRepository(), vault, timeout=10)
    site = sites.add({"name": "tail-loopback", "host": sshd.host, "port": sshd.port,
                      "login": sshd.login, "scheduler": "none",
                      "python": {"mode": "bootstrap"}})
    sites.trust(site.id, sites.scan(site.id).fingerprint)
    credential = vault.generate("remote-tail-tests").id
    sites.authorize(site.id, credential, password=sshd.password)

    def connect() -> paramiko.SSHClient:
        try:
            return sites.connect(site.id, credential)
        except AuthenticationFailed:
            # Other test sessions reset the shared login's ~/.ssh (clean_account): put the
            # key back once. The tail itself rightly treats a refused key as fatal.
            sites.authorize(site.id, credential, password=sshd.password)
            return sites.connect(site.id, credential)

    return connect


@pytest.fixture
def log_path(sshd: SshdInfo) -> Iterator[tuple[Path, str]]:
    """(local path, path relative to the login's home) of a fresh, eflows-owned log."""
    account = pwd.getpwnam(sshd.login)
    relative = f"eflows-tail-tests/{uuid.uuid4().hex[:8]}/events.jsonl"
    local = sshd.home / relative
    local.parent.mkdir(parents=True, exist_ok=True)
    local.touch()
    for p in (local.parent.parent, local.parent, local):
        os.chown(p, account.pw_uid, account.pw_gid)
    yield local, relative
    local.unlink(missing_ok=True)
    local.parent.rmdir()


def start_writer(path: Path, count: int, rate: float, final: str = "done",
                 first: int = 1) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(first), str(count),
                             str(rate), final], cwd=Path(__file__).resolve().parents[3])


def write_events(path: Path, seqs: list[int], final: str | None = "done") -> None:
    with path.open("a") as f:
        for seq in seqs:
            f.write(json.dumps({"v": 1, "seq": seq, "run": "r1", "ts": time.time(),
                                "type": "task", "task": seq, "state": "done"}) + "\n")
        if final:
            f.write(json.dumps({"v": 1, "seq": max(seqs) + 1, "run": "r1", "ts": time.time(),
                                "type": "run", "state": final}) + "\n")


class Collector:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.events.append(event)

    @property
    def seqs(self) -> list[int]:
        with self.lock:
            return [e["seq"] for e in self.events]


def session_pids(client: paramiko.SSHClient) -> list[int]:
    """The sshd processes serving exactly this client's TCP connection (by its local port)."""
    port = client.get_transport().sock.getsockname()[1]  # type: ignore[union-attr]
    out = subprocess.run(["ss", "-tnpH", "state", "established",
                          f"( sport = :2222 and dport = :{port} )"],
                         capture_output=True, text=True, check=True).stdout
    return sorted({int(p) for p in re.findall(r"pid=(\d+)", out)})


def test_streams_every_event_in_order_and_ends_on_the_final_event(connect, log_path) -> None:
    local, remote = log_path
    got = Collector()
    tail = RemoteEventTail(connect, remote, got)
    tail.start()
    writer = start_writer(local, count=200, rate=70)  # ~3 s
    assert writer.wait(30) == 0
    assert tail.join(15), "the tail did not end after the final run event"
    assert got.seqs == list(range(1, 202))
    assert got.events[-1]["type"] == "run" and got.events[-1]["state"] == "done"
    assert tail.finished and tail.offset == local.stat().st_size


def test_resume_from_a_seq_in_the_middle(connect, log_path) -> None:
    local, remote = log_path
    write_events(local, list(range(1, 200)))
    first = Collector()
    stop_at_120 = threading.Event()

    def until_120(event: dict[str, Any]) -> None:
        first(event)
        if event["seq"] == 120:
            stop_at_120.set()

    tail = RemoteEventTail(connect, remote, until_120, stop=stop_at_120)
    tail.run()
    assert first.seqs == list(range(1, 121))
    saved_seq, saved_offset = tail.last_seq, tail.offset

    for offset in (0, saved_offset, saved_offset - 7):  # no hint, the saved one, a wrong one
        rest = Collector()
        RemoteEventTail(connect, remote, rest, from_seq=saved_seq, from_offset=offset).run()
        assert rest.seqs == list(range(121, 201)), f"from_offset={offset}"


def test_a_partial_line_waits_for_its_end(connect, log_path) -> None:
    local, remote = log_path
    write_events(local, [1, 2], final=None)
    got = Collector()
    tail = RemoteEventTail(connect, remote, got)
    tail.start()
    line = json.dumps({"v": 1, "seq": 3, "run": "r1", "ts": 0, "type": "run",
                       "state": "done"}) + "\n"
    deadline = time.monotonic() + 10
    while got.seqs != [1, 2] and time.monotonic() < deadline:
        time.sleep(0.02)
    with local.open("a") as f:
        f.write(line[:20])
        f.flush()
        time.sleep(0.6)
        assert got.seqs == [1, 2], "a half-written line was delivered"
        f.write(line[20:])
    assert tail.join(10)
    assert got.seqs == [1, 2, 3]


def test_sshd_restart_mid_stream_resumes_with_no_gap_and_no_duplicate(connect,
                                                                     log_path) -> None:
    local, remote = log_path
    got = Collector()
    tail = RemoteEventTail(connect, remote, got, give_up_after=30)
    tail.start()
    writer = start_writer(local, count=200, rate=50)  # ~4 s
    try:
        deadline = time.monotonic() + 10
        while len(got.seqs) < 50 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(got.seqs) >= 50 and tail._client is not None
        pids = session_pids(tail._client)
        assert pids, "no sshd process found for the tail's connection"
        subprocess.run(["bash", str(CLUSTER / "setup_sshd.sh"), "restart"], check=True,
                       capture_output=True, timeout=120)
        # OpenSSH keeps running sessions across a listener restart; a real restart (or a
        # network cut) also ends them: end exactly the processes serving this connection.
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        assert writer.wait(30) == 0
        assert tail.join(30), "the tail did not finish after the restart"
    finally:
        if writer.poll() is None:
            writer.kill()
    assert tail.reconnects >= 1
    assert got.seqs == list(range(1, 202))


def test_events_after_the_final_one_are_not_delivered(connect, log_path) -> None:
    local, remote = log_path
    write_events(local, [1, 2, 3])  # final run event is seq 4
    write_events(local, [5, 6], final=None)
    got = Collector()
    RemoteEventTail(connect, remote, got).run()
    assert got.seqs == [1, 2, 3, 4]


def test_resuming_after_the_final_event_ends_at_once(connect, log_path) -> None:
    local, remote = log_path
    write_events(local, [1, 2, 3])  # final run event is seq 4
    got = Collector()
    tail = RemoteEventTail(connect, remote, got, from_seq=4)
    tail.start()
    assert tail.join(10), "the tail kept waiting after a run that had already ended"
    assert got.seqs == []


def test_keep_following_past_the_final_event_until_stopped(connect, log_path) -> None:
    local, remote = log_path
    write_events(local, [1, 2, 3])
    stop = threading.Event()
    got = Collector()
    tail = RemoteEventTail(connect, remote, got, until_run_end=False, stop=stop)
    tail.start()
    time.sleep(0.5)
    write_events(local, [5, 6], final=None)
    deadline = time.monotonic() + 10
    while got.seqs[-1:] != [6] and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    assert tail.join(5)
    assert got.seqs == [1, 2, 3, 4, 5, 6]


def test_a_gap_is_filled_from_the_file(connect, log_path) -> None:
    local, remote = log_path
    write_events(local, [1, 2, 4, 3, 5])  # 3 written late: delivered before 4, once
    got = Collector()
    RemoteEventTail(connect, remote, got).run()
    assert got.seqs == [1, 2, 3, 4, 5, 6]


def test_a_gap_that_the_file_cannot_fill_is_an_error(connect, log_path) -> None:
    local, remote = log_path
    write_events(local, [1, 2, 5])
    got = Collector()
    with pytest.raises(EventGapError, match=r"events 3\.\.4 are missing"):
        RemoteEventTail(connect, remote, got).run()
    assert got.seqs == [1, 2]


def test_gives_up_after_the_configured_time(sshd) -> None:
    def unreachable() -> paramiko.SSHClient:
        raise SiteUnreachable("SSH connection to 127.0.0.1:1 failed: refused")

    started = time.monotonic()
    with pytest.raises(RemoteTailError, match="gave up following"):
        RemoteEventTail(unreachable, "x", lambda e: None, give_up_after=1.0,
                        backoff=(0.1, 0.4)).run()
    assert 1.0 <= time.monotonic() - started < 3.0


def test_sftp_mode_delivers_the_same_sequence(connect, log_path) -> None:
    local, remote = log_path
    got = Collector()
    tail = RemoteEventTail(connect, remote, got, mode="sftp")
    tail.start()
    writer = start_writer(local, count=100, rate=100)
    assert writer.wait(30) == 0
    assert tail.join(15)
    assert got.seqs == list(range(1, 102))
