"""Site -> site streaming (a copy step's bytes) against the real test sshd.

One end is the sshd's login, the other this host (``LocalShell``, the ``local`` site's
shell): both directions, resume of a ``.part`` an earlier attempt left, a ``.part`` of
other bytes restarted, and a cancel mid-file that takes effect at once and leaves no
file under a final name. Run under ``flock /tmp/eflows-e2e.lock``.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import paramiko
import pytest

from eflows_kernel.events import EventStream, validate_event
from eflows_kernel.services.hpc import ssh
from eflows_kernel.services.hpc.local_shell import LocalShell
from eflows_kernel.services.hpc.transfer import site_stream
from eflows_kernel.services.hpc.transfer.site_stream import TransferCancelled, stream_between
from tests.plugins.cluster import SshdInfo


def _progress(events: EventStream) -> list[dict]:
    for event in events.events():
        validate_event(event)
    return [e for e in events.events() if e["type"] == "transfer"]


def test_a_site_folder_streams_here_and_back_checked(client: paramiko.SSHClient, rdir: str,
                                                     sshd: SshdInfo, tmp_path: Path) -> None:
    big = os.urandom(3 * site_stream.STREAM_CHUNK + 17)
    ssh.run(client, f"mkdir -p {rdir}/results/sub/empty && printf one > {rdir}/results/a.txt"
                    f" && : > {rdir}/results/sub/zero && chmod 640 {rdir}/results/a.txt")
    (sshd.home / rdir / "results" / "sub" / "big.bin").write_bytes(big)
    here = tmp_path / "copy"
    events = EventStream("copy-1")
    results = stream_between(client, f"{rdir}/results", LocalShell(), str(here), events)
    assert {r.name: r.bytes for r in results} == {
        "results/a.txt": 3, "results/sub/big.bin": len(big), "results/sub/zero": 0}
    assert (here / "results" / "sub" / "big.bin").read_bytes() == big
    assert (here / "results" / "sub" / "empty").is_dir()
    assert (here / "results" / "a.txt").stat().st_mode & 0o777 == 0o640
    assert not list(here.rglob("*.part"))
    done = [e["done_bytes"] for e in _progress(events)]
    assert done == sorted(done) and done[-1] == len(big) + 3 and len(done) >= 3
    assert _progress(events)[-1]["state"] == "done"

    back = f"{rdir}/back"  # this host -> the site, and again: what is there is kept
    stream_between(LocalShell(), str(here / "results"), client, back)
    landed = sshd.home / back / "results" / "sub" / "big.bin"
    assert hashlib.sha256(landed.read_bytes()).hexdigest() == hashlib.sha256(big).hexdigest()
    written = landed.stat().st_mtime_ns
    stream_between(LocalShell(), str(here / "results"), client, back)  # a copy made again
    assert landed.stat().st_mtime_ns == written  # ... keeps what is there already


def test_a_folders_contents_go_straight_into_the_target_as_the_dls_ssh2ssh_writes(
        client: paramiko.SSHClient, rdir: str, tmp_path: Path) -> None:
    """``contents``: ``results/sub/b.txt`` lands as ``<target>/sub/b.txt`` (the DAG's
    ``fname.replace(source_path, target_path)``); a single file keeps its name."""
    ssh.run(client, f"mkdir -p {rdir}/results/sub && printf one > {rdir}/results/a.txt"
                    f" && printf two > {rdir}/results/sub/b.txt")
    here = tmp_path / "input"
    results = stream_between(client, f"{rdir}/results/", LocalShell(), str(here),
                             contents=True)
    assert sorted(r.name for r in results) == ["a.txt", "sub/b.txt"]
    assert sorted(str(p.relative_to(here)) for p in here.rglob("*")) == [
        "a.txt", "sub", "sub/b.txt"]
    assert (here / "sub" / "b.txt").read_text() == "two"
    stream_between(client, f"{rdir}/results/a.txt", LocalShell(), str(here / "one"),
                   contents=True)
    assert (here / "one" / "a.txt").read_text() == "one"


def test_a_part_is_continued_when_it_is_the_sources_start_else_restarted(
        client: paramiko.SSHClient, rdir: str, sshd: SshdInfo, tmp_path: Path) -> None:
    data = os.urandom(2 * site_stream.STREAM_CHUNK + 5)
    ssh.run(client, f"mkdir -p {rdir}")
    (sshd.home / rdir / "data.bin").write_bytes(data)
    part = tmp_path / "data.bin.part"
    part.write_bytes(data[:site_stream.STREAM_CHUNK])
    events = EventStream("copy-3")
    stream_between(client, f"{rdir}/data.bin", LocalShell(), str(tmp_path), events)
    assert (tmp_path / "data.bin").read_bytes() == data and not part.exists()
    assert _progress(events)[1]["done_bytes"] >= site_stream.STREAM_CHUNK  # resumed

    (tmp_path / "data.bin").unlink()
    part.write_bytes(b"not the source's bytes")
    stream_between(client, f"{rdir}/data.bin", LocalShell(), str(tmp_path))
    assert (tmp_path / "data.bin").read_bytes() == data and not part.exists()


def test_cancel_stops_mid_file_at_once_and_leaves_no_final_name(
        client: paramiko.SSHClient, rdir: str, sshd: SshdInfo, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(site_stream, "STREAM_CHUNK", 32 * 1024)  # many chunks, slow enough
    ssh.run(client, f"mkdir -p {rdir} && head -c 100000000 /dev/zero > {rdir}/huge.bin")
    cancel = threading.Event()
    asked: list[float] = []

    def cancel_once_started() -> None:
        part = tmp_path / "huge.bin.part"
        while not (part.exists() and part.stat().st_size > 0):
            time.sleep(0.01)
        asked.append(time.monotonic())
        cancel.set()

    threading.Thread(target=cancel_once_started, daemon=True).start()
    events = EventStream("copy-4")
    with pytest.raises(TransferCancelled):
        stream_between(client, f"{rdir}/huge.bin", LocalShell(), str(tmp_path), events,
                       cancel=cancel)
    stopped = time.monotonic()
    assert stopped - asked[0] < 1.5, "cancel must take effect mid-file"
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no final name, no .part
    last = _progress(events)[-1]
    assert last["state"] == "failed" and last["done_bytes"] < 100_000_000
