"""The local shell: this host with the SSHClient surface the hpc layer uses (no Slurm here)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from eflows_kernel.services.hpc import ssh
from eflows_kernel.services.hpc.local_shell import LocalShell, login_environment
from eflows_kernel.services.hpc.remote_events import RemoteEventTail
from eflows_kernel.services.hpc.transfer._common import remote, remote_sha256, remote_size


def test_commands_status_output_and_stdin() -> None:
    with LocalShell() as shell:
        assert ssh.run(shell, "echo out; echo err >&2; exit 3") == (3, "out\n", "err\n")
        assert ssh.run(shell, "cat", stdin="piped in") == (0, "piped in", "")
        assert ssh.run(shell, "pwd")[1].strip() == str(Path.home())  # where a login starts
        assert remote(shell, "cat", stdin=b"\x00\xff" * 70000) == b"\x00\xff" * 70000
        with pytest.raises(Exception, match="remote command failed"):
            remote(shell, "echo no >&2; false")
    assert shell.get_transport() is None  # closed, as a dropped SSH client


def test_the_environment_is_a_logins_not_the_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIRTUAL_ENV", "/server/venv")
    monkeypatch.setenv("SLURM_JOB_ID", "42")  # a batchspawner server runs inside a job
    monkeypatch.setenv("SLURM_CONF", "/etc/slurm/slurm.conf")
    env = login_environment()
    assert "VIRTUAL_ENV" not in env and "SLURM_JOB_ID" not in env
    assert env["SLURM_CONF"] == "/etc/slurm/slurm.conf" and env["HOME"] == str(Path.home())
    _, out, _ = ssh.run(LocalShell(), "echo ${VIRTUAL_ENV:-none} ${SLURM_JOB_ID:-none}")
    assert out.split() == ["none", "none"]


def test_files_through_the_sftp_surface(tmp_path: Path) -> None:
    shell = LocalShell()
    with shell.open_sftp() as sftp:
        target = str(tmp_path / "a.txt")
        with sftp.open(target, "w") as handle:
            handle.write("text ")
            handle.write(b"and bytes")
        assert sftp.stat(target).st_size == 14
        with sftp.open(target, "rb") as handle:
            handle.seek(5)
            assert handle.read() == b"and bytes"
        with sftp.open(target, "a") as handle:
            handle.write("!")
        sftp.chmod(target, 0o600)
        assert os.stat(target).st_mode & 0o777 == 0o600
        sftp.mkdir(str(tmp_path / "d"), 0o755)
        sftp.posix_rename(target, str(tmp_path / "d" / "b.txt"))
        with pytest.raises(FileNotFoundError):
            sftp.stat(target)
        sftp.get(str(tmp_path / "d" / "b.txt"), str(tmp_path / "copy"))
        assert (tmp_path / "copy").read_text() == "text and bytes!"
    assert remote_size(shell, str(tmp_path / "copy")) == 15
    assert list(remote_sha256(shell, [str(tmp_path / "copy"), "/nope"])) == \
        [str(tmp_path / "copy")]


def test_closing_a_channel_ends_its_command(tmp_path: Path) -> None:
    shell = LocalShell()
    channel = shell.get_transport().open_session()  # type: ignore[union-attr]
    channel.exec_command(f"exec tail -F {tmp_path / 'never'}")
    channel.settimeout(0.2)
    with pytest.raises(TimeoutError):
        channel.recv(10)
    channel.close()
    assert channel.exit_status_ready()


def test_closing_the_shell_ends_its_running_commands(tmp_path: Path) -> None:
    """As a paramiko client closing its transport: a transfer writing through a channel
    fails at once (how a local movement step is cancelled mid-file), a finished command
    is left alone, and no new command starts."""
    shell = LocalShell()
    done = shell.get_transport().open_session()  # type: ignore[union-attr]
    done.exec_command("true")
    assert done.recv_exit_status() == 0
    writing = shell.get_transport().open_session()  # type: ignore[union-attr]
    writing.exec_command(f"cat > {tmp_path / 'file.part'}")
    writing.sendall(b"x" * 1024)
    shell.close()
    assert writing.exit_status_ready() and writing.recv_exit_status() != 0
    with pytest.raises((OSError, ValueError)):
        writing.sendall(b"more")
    assert shell.get_transport() is None
    with pytest.raises(OSError):
        shell.open_sftp()


def test_an_event_tail_follows_a_local_file(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    seen: list[dict[str, object]] = []
    tail = RemoteEventTail(LocalShell, str(log), seen.append)  # tail -F before the file
    tail.start()
    try:
        time.sleep(0.3)
        with log.open("a") as f:
            for seq, state in ((1, "running"), (2, "running"), (3, "done")):
                f.write(f'{{"v": 1, "seq": {seq}, "run": "r", "ts": 0, "type": "run", '
                        f'"state": "{state}"}}\n')
                f.flush()
        assert tail.join(20)  # ends at the run's final event
        assert [e["seq"] for e in seen] == [1, 2, 3] and tail.finished
    finally:
        tail.stop.set()
