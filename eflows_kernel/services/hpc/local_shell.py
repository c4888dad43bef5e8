"""This host, spoken to the way the deployer speaks to a site over SSH.

At an HPC centre the Jupyter server often runs where ``sbatch`` is (on a login node, or
as a batchspawner job on the cluster itself). Reaching that host over SSH would need a
key the user does not have and a host key nobody pinned. :class:`LocalShell` is the
paramiko ``SSHClient`` surface the hpc layer uses (``exec_command``, ``open_sftp``,
``get_transport().open_session()`` channels), done with local processes and the local
filesystem, so Slurm jobs, run directories, event tails (``tail -F``) and stage-in
(``tar``/``cat``/``dd`` pipelines) take the very code path of an SSH site.

Commands run as ``/bin/sh -c`` in the home directory with the environment sshd would
give a login (HOME, USER, PATH...), not the server's: a ``VIRTUAL_ENV``, ``PYTHONPATH``
or the ``SLURM_*`` variables of the job a batchspawner server runs in must not leak
into the jobs it submits (``sbatch`` exports the caller's environment by default).
"""

from __future__ import annotations

import contextlib
import getpass
import io
import os
import shutil
import signal
import subprocess
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

LOGIN_PATH = "/usr/local/bin:/usr/bin:/bin"  # what sshd gives a login before its profile
_KEPT_VARIABLES = ("LANG", "LANGUAGE", "TZ", "TMPDIR", "SLURM_CONF", "KRB5CCNAME",
                   "MODULEPATH", "MODULESHOME", "LMOD_CMD")
_READ_SIZE = 65536


def local_login() -> str:
    """The account a local site runs as: the server's own."""
    return getpass.getuser()


def login_environment() -> dict[str, str]:
    """The environment of a fresh login of this account, as sshd would set it up."""
    home = str(Path.home())
    env = {"HOME": home, "USER": local_login(), "LOGNAME": local_login(),
           "SHELL": os.environ.get("SHELL", "/bin/sh"), "PATH": LOGIN_PATH}
    env.update({k: v for k, v in os.environ.items()
                if k in _KEPT_VARIABLES or k.startswith("LC_")})
    return env


class _Pipe:
    """The bytes a child writes to one pipe, read by a thread so neither pipe blocks."""

    def __init__(self, stream: Any) -> None:
        self._data = bytearray()
        self._eof = False
        self._ready = threading.Condition()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True,
                                        name="eflows-local-pipe")
        self._thread.start()

    def _pump(self, stream: Any) -> None:
        try:
            while chunk := os.read(stream.fileno(), _READ_SIZE):
                with self._ready:
                    self._data += chunk
                    self._ready.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            with self._ready:
                self._eof = True
                self._ready.notify_all()
            with contextlib.suppress(OSError):
                stream.close()

    def ready(self) -> bool:
        with self._ready:
            return bool(self._data)

    def read(self, size: int, timeout: float | None) -> bytes:
        """Up to ``size`` bytes, ``b""`` at the end; TimeoutError as a socket would."""
        with self._ready:
            if not self._ready.wait_for(lambda: self._data or self._eof, timeout):
                raise TimeoutError("timed out")
            chunk = bytes(self._data[:size])
            del self._data[:size]
            return chunk


class LocalChannel:
    """One command on this host, with the calls of a paramiko exec ``Channel``."""

    def __init__(self, transport: LocalTransport) -> None:
        self.transport = transport
        self.timeout: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._stdout: _Pipe | None = None
        self._stderr: _Pipe | None = None

    def settimeout(self, timeout: float | None) -> None:
        self.timeout = timeout

    def exec_command(self, command: str) -> None:
        self._process = subprocess.Popen(
            ["/bin/sh", "-c", command], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, cwd=Path.home(), env=login_environment(),
            start_new_session=True)  # its own group: closing the channel ends all of it
        self._stdout = _Pipe(self._process.stdout)
        self._stderr = _Pipe(self._process.stderr)

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise OSError("no command was started on this channel")
        return self._process

    def recv(self, size: int) -> bytes:
        self._started()
        assert self._stdout is not None
        return self._stdout.read(size, self.timeout)

    def recv_stderr(self, size: int) -> bytes:
        self._started()
        assert self._stderr is not None
        return self._stderr.read(size, self.timeout)

    def recv_ready(self) -> bool:
        return self._stdout is not None and self._stdout.ready()

    def recv_stderr_ready(self) -> bool:
        return self._stderr is not None and self._stderr.ready()

    def sendall(self, data: bytes | memoryview) -> None:
        stdin = self._started().stdin
        assert stdin is not None
        stdin.write(data)
        stdin.flush()

    def shutdown_write(self) -> None:
        stdin = self._started().stdin
        if stdin is not None and not stdin.closed:
            with contextlib.suppress(OSError):
                stdin.close()

    def exit_status_ready(self) -> bool:
        return self._process is not None and self._process.poll() is not None

    def recv_exit_status(self) -> int:
        status = self._started().wait()
        self.shutdown_write()  # nothing reads it any more
        return status if status >= 0 else -1  # killed by a signal: sshd reports no status

    def makefile_stderr(self, mode: str = "rb") -> io.BytesIO:
        """The rest of the command's stderr (read to its end, as paramiko's file would)."""
        data = bytearray()
        while chunk := self.recv_stderr(_READ_SIZE):
            data += chunk
        return io.BytesIO(bytes(data))

    def close(self) -> None:
        process = self._process
        if process is None:
            return
        self.shutdown_write()
        if process.poll() is None:  # as sshd does when a channel closes: end the command
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def __enter__(self) -> LocalChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalTransport:
    """What the hpc layer asks of a paramiko ``Transport``: alive, and channels on demand."""

    remote_cipher = "local"  # nothing to re-key: transfer/_common.prefer_fast_cipher skips
    _channels: dict[int, Any] = {}  # noqa: RUF012 - read only, by prefer_fast_cipher

    def __init__(self) -> None:
        self.closed = False
        self._open: weakref.WeakSet[LocalChannel] = weakref.WeakSet()

    @property
    def active(self) -> bool:
        return not self.closed

    def is_active(self) -> bool:
        return not self.closed

    def is_authenticated(self) -> bool:
        return not self.closed

    def set_keepalive(self, interval: int) -> None:
        """Nothing to keep alive on this host."""

    def get_security_options(self) -> SimpleNamespace:
        return SimpleNamespace(ciphers=())

    def open_session(self, *args: Any, **kwargs: Any) -> LocalChannel:
        if self.closed:
            raise OSError("the local shell is closed")
        channel = LocalChannel(self)
        self._open.add(channel)
        return channel

    open_channel = open_session

    def close(self) -> None:
        """As a paramiko transport closing: its channels close, their commands end (a
        transfer writing through one fails at once: how a movement is cancelled)."""
        self.closed = True
        for channel in list(self._open):
            channel.close()


class _LocalFile:
    """A file opened through :class:`LocalSFTP`: binary, and taking text too (as SFTP)."""

    def __init__(self, path: Path, mode: str) -> None:
        binary = mode.replace("b", "").replace("t", "")
        self._file = open(path, binary + "b")  # noqa: SIM115 - closed by close()/__exit__

    def write(self, data: str | bytes) -> int:
        return self._file.write(data.encode() if isinstance(data, str) else data)

    def prefetch(self, *args: Any) -> None:
        """Reads are local: nothing to fetch ahead."""

    def readv(self, chunks: list[tuple[int, int]]) -> Iterator[bytes]:
        """The blocks ``(offset, length)``, in order, as SFTP's ``readv`` gives them."""
        for offset, length in chunks:
            self._file.seek(offset)
            yield self._file.read(length)

    def set_pipelined(self, pipelined: bool = True) -> None:
        """Writes are local: nothing to pipeline."""

    def stat(self) -> os.stat_result:
        """The open file's attributes (SFTP's ``fstat``)."""
        return os.fstat(self._file.fileno())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)

    def __enter__(self) -> _LocalFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()


class LocalSFTP:
    """The calls of a paramiko ``SFTPClient`` the hpc layer makes, on this filesystem.

    Relative paths are relative to the home directory, where an SFTP session starts.
    """

    def __init__(self, home: Path | None = None) -> None:
        self.home = home or Path.home()
        self._channel = SimpleNamespace(settimeout=lambda timeout: None)

    def _path(self, path: str) -> Path:
        return self.home / path if not os.path.isabs(path) else Path(path)

    def open(self, path: str, mode: str = "r", bufsize: int = -1) -> _LocalFile:
        return _LocalFile(self._path(path), mode)

    file = open

    def stat(self, path: str) -> os.stat_result:
        return os.stat(self._path(path))

    def lstat(self, path: str) -> os.stat_result:
        return os.lstat(self._path(path))

    def listdir(self, path: str = ".") -> list[str]:
        return os.listdir(self._path(path))

    def listdir_attr(self, path: str = ".") -> list[SimpleNamespace]:
        """Each entry's name and attributes, links not followed (as an SFTP server's
        directory read, which reports a link as a link)."""
        folder = self._path(path)
        entries = []
        for name in os.listdir(folder):
            info = os.lstat(folder / name)
            entries.append(SimpleNamespace(filename=name, st_mode=info.st_mode,
                                           st_size=info.st_size, st_mtime=info.st_mtime))
        return entries

    def mkdir(self, path: str, mode: int = 0o777) -> None:
        os.mkdir(self._path(path), mode)

    def rmdir(self, path: str) -> None:
        os.rmdir(self._path(path))

    def chmod(self, path: str, mode: int) -> None:
        os.chmod(self._path(path), mode)

    def rename(self, old: str, new: str) -> None:
        if self._path(new).exists():  # SFTP's rename refuses to replace, as paramiko's
            raise OSError(f"{new} exists")
        os.rename(self._path(old), self._path(new))

    def posix_rename(self, old: str, new: str) -> None:
        os.replace(self._path(old), self._path(new))

    def remove(self, path: str) -> None:
        os.remove(self._path(path))

    unlink = remove

    def get(self, remotepath: str, localpath: str, callback: Any = None) -> None:
        shutil.copyfile(self._path(remotepath), localpath)

    def put(self, localpath: str, remotepath: str, callback: Any = None,
            confirm: bool = True) -> os.stat_result:
        shutil.copyfile(localpath, self._path(remotepath))
        return self.stat(remotepath)

    def get_channel(self) -> SimpleNamespace:
        return self._channel

    def close(self) -> None:
        """Nothing to close: no session."""

    def __enter__(self) -> LocalSFTP:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Stream:
    """stdin/stdout/stderr of :meth:`LocalShell.exec_command`, each with its ``channel``."""

    def __init__(self, channel: LocalChannel, which: str) -> None:
        self.channel = channel
        self._which = which

    def write(self, data: str | bytes) -> None:
        self.channel.sendall(data.encode() if isinstance(data, str) else data)

    def read(self) -> bytes:
        receive = self.channel.recv if self._which == "out" else self.channel.recv_stderr
        data = bytearray()
        while chunk := receive(_READ_SIZE):
            data += chunk
        return bytes(data)


class LocalShell:
    """This host as an ``SSHClient``: commands, files and channels, no network, no key."""

    def __init__(self) -> None:
        self._transport = LocalTransport()

    def __repr__(self) -> str:
        return f"LocalShell({local_login()}@localhost)"

    def get_transport(self) -> LocalTransport | None:
        return None if self._transport.closed else self._transport

    def exec_command(self, command: str, bufsize: int = -1, timeout: float | None = None,
                     get_pty: bool = False,
                     environment: dict[str, str] | None = None
                     ) -> tuple[_Stream, _Stream, _Stream]:
        channel = self._transport.open_session()
        channel.settimeout(timeout)
        channel.exec_command(command)
        return _Stream(channel, "in"), _Stream(channel, "out"), _Stream(channel, "err")

    def open_sftp(self) -> LocalSFTP:
        if self._transport.closed:
            raise OSError("the local shell is closed")
        return LocalSFTP()

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> LocalShell:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["LocalChannel", "LocalSFTP", "LocalShell", "LocalTransport", "local_login",
           "login_environment"]
