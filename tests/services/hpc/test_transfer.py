"""Stage-in / stage-out against the real sshd of tests/cluster (127.0.0.1:2222).

Password login on purpose: other site tests reset ~/.ssh, which must not break these.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from eflows_kernel.events import EventStream, validate_event
from eflows_kernel.services.hpc import ssh
from eflows_kernel.services.hpc.transfer import (
    ChecksumMismatch,
    TransferError,
    stage_in,
    stage_in_cluster_path,
    stage_in_url,
    stage_out,
    upload,
)
from tests.plugins.cluster import SshdInfo, password_login


def home(sshd: SshdInfo, rdir: str) -> Path:
    return sshd.home / rdir


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def transfers(events: EventStream) -> list[dict]:
    for event in events.events():
        validate_event(event)
    return [e for e in events.events() if e["type"] == "transfer"]


def test_file_lands_verified_with_monotonic_progress(client, rdir, sshd, tmp_path) -> None:
    data = os.urandom(5 * 1024 * 1024 + 123)
    src = tmp_path / "input.bin"
    src.write_bytes(data)
    events = EventStream("run-1")
    [result] = stage_in(client, src, rdir, events)
    assert (result.name, result.bytes, result.sha256) == ("input.bin", len(data), sha(data))
    assert (home(sshd, rdir) / "input.bin").read_bytes() == data
    assert not (home(sshd, rdir) / "input.bin.part").exists()
    seen = transfers(events)
    done = [e["done_bytes"] for e in seen]
    assert done == sorted(done) and done[-1] == len(data)
    assert seen[-1]["state"] == "done" and all(e["state"] == "running" for e in seen[:-1])
    assert all(e["direction"] == "in" and e["total_bytes"] == len(data) for e in seen)


def test_folder_tree_with_empty_dir_and_empty_file(client, rdir, sshd, tmp_path) -> None:
    root = tmp_path / "data"
    (root / "a" / "b").mkdir(parents=True)
    (root / "empty").mkdir()
    files = {"top.txt": b"top", "a/one.bin": os.urandom(70000), "a/b/deep.txt": b"deep",
             "a/zero": b""}
    for rel, content in files.items():
        (root / rel).write_bytes(content)
    events = EventStream("run-2")
    results = stage_in(client, root, rdir, events)
    assert {r.name: r.sha256 for r in results} == {f"data/{k}": sha(v) for k, v in files.items()}
    remote_root = home(sshd, rdir) / "data"
    for rel, content in files.items():
        assert (remote_root / rel).read_bytes() == content
    assert (remote_root / "empty").is_dir()
    assert not (home(sshd, rdir) / "data.part").exists()
    assert transfers(events)[-1]["done_bytes"] == sum(map(len, files.values()))


def test_resume_continues_a_truncated_part(client, rdir, sshd, tmp_path) -> None:
    data = os.urandom(3 * 1024 * 1024)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    stage_in(client, src, rdir)
    final = home(sshd, rdir) / "big.bin"
    part = final.with_name("big.bin.part")
    final.rename(part)
    with part.open("r+b") as f:
        f.truncate(1_000_000)  # as if the connection had dropped
    events = EventStream("run-3")
    [result] = stage_in(client, src, rdir, events)
    assert result.sha256 == sha(data) and final.read_bytes() == data
    assert transfers(events)[0]["done_bytes"] == 1_000_000  # started from the prefix


def test_resume_restarts_when_the_part_differs(client, rdir, sshd, tmp_path) -> None:
    data = os.urandom(200_000)
    src = tmp_path / "f.bin"
    src.write_bytes(data)
    ssh.run(client, f"mkdir -p {rdir} && head -c 5000 /dev/urandom > {rdir}/f.bin.part")
    events = EventStream("run-4")
    stage_in(client, src, rdir, events)
    assert (home(sshd, rdir) / "f.bin").read_bytes() == data
    assert transfers(events)[0]["done_bytes"] == 0


def test_folder_resume_skips_files_already_there(client, rdir, sshd, tmp_path) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    for i in range(5):
        (root / f"f{i}").write_bytes(os.urandom(1000))
    stage_in(client, root, rdir)
    there = home(sshd, rdir) / "tree"
    there.rename(there.with_name("tree.part"))
    (there.with_name("tree.part") / "f3").write_bytes(b"torn")
    events = EventStream("run-5")
    stage_in(client, root, rdir, events)
    assert transfers(events)[0]["done_bytes"] == 4000
    assert all((there / f"f{i}").read_bytes() == (root / f"f{i}").read_bytes() for i in range(5))


def test_corrupted_part_is_detected_and_never_renamed(client, rdir, sshd, tmp_path,
                                                      monkeypatch) -> None:
    src = tmp_path / "x.bin"
    src.write_bytes(os.urandom(100_000))

    def corrupt(c: paramiko.SSHClient, part: str) -> None:
        ssh.run(c, f"printf 'Z' | dd of={part} bs=1 seek=10 conv=notrunc status=none")

    monkeypatch.setattr(upload, "_after_upload", corrupt)
    events = EventStream("run-6")
    with pytest.raises(ChecksumMismatch, match="sha256"):
        stage_in(client, src, rdir, events)
    assert not (home(sshd, rdir) / "x.bin").exists()
    assert (home(sshd, rdir) / "x.bin.part").exists()
    assert transfers(events)[-1]["state"] == "failed"
    folder = tmp_path / "fold"
    folder.mkdir()
    (folder / "a").write_bytes(b"hello")
    monkeypatch.setattr(upload, "_after_upload",
                        lambda c, part: ssh.run(c, f"echo bad > {part}/a"))
    with pytest.raises(ChecksumMismatch):
        stage_in(client, folder, rdir)
    assert not (home(sshd, rdir) / "fold").exists()


@pytest.mark.parametrize("name", ["with space.txt", "it's \"quoted\".txt", "a;b.txt",
                                  "$(touch pwned).txt", "-n", "back\\slash`id`.txt"])
def test_hostile_names_are_just_names(client, rdir, sshd, tmp_path, name) -> None:
    folder = tmp_path / "d $(touch pwned2); x"
    folder.mkdir()
    (folder / name).write_bytes(b"content")
    single = tmp_path / name
    single.write_bytes(b"single")
    weird_dir = f"{rdir}/sub dir;$(touch pwned3)"
    stage_in(client, single, weird_dir)
    stage_in(client, folder, weird_dir)
    base = home(sshd, weird_dir)
    assert (base / name).read_bytes() == b"single"
    assert (base / folder.name / name).read_bytes() == b"content"
    for marker in ("pwned", "pwned2", "pwned3"):
        assert not (sshd.home / marker).exists()
        assert not list(home(sshd, rdir).rglob(marker))


def test_missing_source_is_an_error(client, rdir, tmp_path) -> None:
    with pytest.raises(TransferError, match="does not exist"):
        stage_in(client, tmp_path / "nope", rdir)


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("via", ["cluster", "local"])
def test_url_stage_in(client, rdir, sshd, http_root, via) -> None:
    base, root = http_root
    data = os.urandom(300_000)
    (root / "file one.bin").write_bytes(data)
    events = EventStream("run-7")
    result = stage_in_url(client, f"{base}/file%20one.bin", rdir, events, sha256=sha(data),
                          via=via)
    assert result.sha256 == sha(data) and result.bytes == len(data)
    assert (home(sshd, rdir) / "file one.bin").read_bytes() == data
    assert transfers(events)[-1]["state"] == "done"
    with pytest.raises(ChecksumMismatch):
        stage_in_url(client, f"{base}/file%20one.bin", rdir + "/other", sha256="0" * 64,
                     via=via)
    assert not (home(sshd, rdir) / "other" / "file one.bin").exists()


@pytest.mark.parametrize("via", ["cluster", "local"])
def test_a_url_file_never_lands_inside_a_folder_of_its_name(client, rdir, sshd, http_root,
                                                            via) -> None:
    """An HTTP2SSH target_path naming a folder (another stage-in made it): ``mv`` would
    have put the file in it as ``<name>.part`` and said nothing."""
    base, root = http_root
    (root / "params.json").write_bytes(b"{}")
    (home(sshd, rdir) / "data").mkdir(parents=True)
    with pytest.raises(TransferError, match=r"data is a folder on the site"):
        stage_in_url(client, f"{base}/params.json", rdir, name="data", via=via)
    assert list((home(sshd, rdir) / "data").iterdir()) == []


def test_url_scheme_is_checked(client, rdir) -> None:
    with pytest.raises(TransferError, match="http"):
        stage_in_url(client, "file:///etc/passwd", rdir)
    with pytest.raises(TransferError, match="newlines"):  # would be a 2nd curl option
        stage_in_url(client, 'http://x/a"\noutput = "/tmp/x', rdir)


def test_a_token_in_a_url_is_never_shown(client, rdir, sshd, http_root) -> None:
    """Not in the site's process list (stdin, not argv), the events or the errors."""
    base, root = http_root
    (root / "data.bin").write_bytes(b"x" * 1000)
    secret = "tok3n-" + os.urandom(6).hex()
    url = f"{base}/data.bin?sig={secret}".replace("http://", f"http://user:{secret}@")
    events = EventStream("run-8")
    stage_in_url(client, url, rdir, events, via="cluster")
    assert transfers(events) and all(secret not in json.dumps(e) for e in transfers(events))
    with pytest.raises(ChecksumMismatch) as caught:
        stage_in_url(client, url, rdir + "/again", sha256="0" * 64, via="cluster")
    assert secret not in str(caught.value)


def test_cluster_path_copy(client, rdir, sshd) -> None:
    ssh.run(client, f"mkdir -p '{rdir}/src dir/in' && echo hi > '{rdir}/src dir/in/a b' "
                    f"&& echo top > '{rdir}/src dir/t'")
    results = stage_in_cluster_path(client, f"{rdir}/src dir", f"{rdir}/work")
    assert {r.name for r in results} == {"src dir/in/a b", "src dir/t"}
    assert (home(sshd, rdir) / "work" / "src dir" / "in" / "a b").read_text() == "hi\n"
    [single] = stage_in_cluster_path(client, f"{rdir}/src dir/t", f"{rdir}/work2")
    assert single.sha256 == sha(b"top\n") and single.name == "t"


def test_stage_out_round_trip_and_resume(client, rdir, sshd, tmp_path) -> None:
    data = os.urandom(4 * 1024 * 1024 + 7)
    src = tmp_path / "orig.bin"
    src.write_bytes(data)
    stage_in(client, src, rdir)
    out = tmp_path / "out"
    events = EventStream("run-8")
    result = stage_out(client, f"{rdir}/orig.bin", out, events)
    assert result.sha256 == sha(data) and (out / "orig.bin").read_bytes() == data
    seen = transfers(events)
    assert seen[-1]["state"] == "done" and seen[-1]["direction"] == "out"
    (out / "orig.bin").rename(out / "orig.bin.part")
    with (out / "orig.bin.part").open("r+b") as f:
        f.truncate(123_456)
    events = EventStream("run-9")
    stage_out(client, f"{rdir}/orig.bin", out, events)
    assert (out / "orig.bin").read_bytes() == data and not (out / "orig.bin.part").exists()
    assert transfers(events)[0]["done_bytes"] == 123_456
    with pytest.raises(TransferError, match="neither a file nor a folder"):
        stage_out(client, f"{rdir}/missing", out)


def test_big_file_over_parallel_connections_and_resume(client, rdir, sshd, tmp_path,
                                                       monkeypatch) -> None:
    monkeypatch.setattr(upload, "PARALLEL_MIN", 1)
    monkeypatch.setattr(upload, "PIECE", 1 << 20)
    data = os.urandom(5 * 1024 * 1024 + 99)
    src = tmp_path / "par.bin"
    src.write_bytes(data)
    opened: list[paramiko.SSHClient] = []

    def connect() -> paramiko.SSHClient:
        opened.append(password_login(sshd))
        return opened[-1]

    events = EventStream("run-10")
    [result] = stage_in(client, src, rdir, events, connect=connect, streams=3)
    assert result.sha256 == sha(data) and (home(sshd, rdir) / "par.bin").read_bytes() == data
    assert len(opened) == 2 and all(c.get_transport() is None or
                                    not c.get_transport().is_active() for c in opened)
    done = [e["done_bytes"] for e in transfers(events)]
    assert done == sorted(done) and done[-1] == len(data)
    final = home(sshd, rdir) / "par.bin"
    final.rename(final.with_name("par.bin.part"))
    with final.with_name("par.bin.part").open("r+b") as f:
        f.truncate(2_000_000)
    events = EventStream("run-11")
    stage_in(client, src, rdir, events, connect=connect, streams=2)
    assert final.read_bytes() == data and transfers(events)[0]["done_bytes"] == 2_000_000


def test_stage_out_of_a_folder(client, rdir, sshd, tmp_path) -> None:
    """A results folder comes back whole and verified, or not under its final name."""
    files = {"a.txt": b"alpha\n", "sub dir/b.bin": os.urandom(200_000),
             "sub dir/deeper/c": b"", "odd 'name' $(x).txt": b"odd\n"}
    source = tmp_path / "results"
    for name, data in files.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(data)
    stage_in(client, source, rdir)  # put it on the cluster
    events = EventStream("run-9")
    result = stage_out(client, f"{rdir}/results", tmp_path / "back", events)
    back = tmp_path / "back" / "results"
    assert {str(p.relative_to(back)): p.read_bytes() for p in back.rglob("*")
            if p.is_file()} == files
    assert result.bytes == sum(len(d) for d in files.values()) and len(result.sha256) == 64
    assert transfers(events)[-1]["state"] == "done"
    assert transfers(events)[-1]["done_bytes"] == result.bytes
    assert not (tmp_path / "back" / "results.part").exists()
    with pytest.raises(TransferError, match="neither a file nor a folder"):
        stage_out(client, f"{rdir}/absent", tmp_path / "back")
