"""Running one program of a task: its own process group, redirections, time_out, kill.

The program starts in a new session, so killing its process group reaches everything
it started (an ``mpirun`` and its ranks). The task thread waits in short Python-level
steps, so the engine's cancellation (an exception raised asynchronously into that
thread) lands between them and the group is killed on the way out; a ``time_out``
kills it too. Groups still alive when the worker shuts down are killed by
:func:`kill_all` (called from the worker teardown).
"""

from __future__ import annotations

import collections
import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import IO, Any

from eflows_kernel.model.exceptions import EngineError, TaskTimeoutError

# How long a group gets between SIGTERM and SIGKILL (mpirun forwards SIGTERM to ranks).
TERM_GRACE = 3.0
_WAIT_STEP = 0.2  # the longest a cancellation waits to be noticed
_TAIL_LINES = 20

_LIVE: dict[int, str] = {}  # pgid -> command, of the groups this process started
_LIVE_LOCK = threading.Lock()
_STOPPING = threading.Event()  # this worker was told to stop: start no more programs


@dataclass
class ProcessResult:
    exit_value: int
    stderr_tail: str


@dataclass
class Redirects:
    """Files a program reads stdin from / appends stdout and stderr to (PyCOMPSs
    ``StdIOStream`` parameters append, as its binary runner does); ``fresh`` ones (OUT
    parameters: a new version of the file) are emptied first."""

    stdin: str | None = None
    stdout: str | None = None
    stderr: str | None = None
    fresh: tuple[str, ...] = ()

    def mode(self, path: str, opened: set[str]) -> str:
        if path in self.fresh and path not in opened:
            opened.add(path)
            return "wb"
        return "ab"


def run_process(argv: list[str], *, cwd: str, env: dict[str, str],
                redirects: Redirects | None = None, time_out: float | None = None,
                name: str = "task") -> ProcessResult:
    """Run ``argv`` to its end; raise TaskTimeoutError after ``time_out`` seconds."""
    redirects = redirects or Redirects()
    with contextlib.ExitStack() as files:
        stdin: Any = (files.enter_context(open(redirects.stdin, "rb"))
                      if redirects.stdin else subprocess.DEVNULL)
        emptied: set[str] = set()
        stdout: Any = (files.enter_context(open(redirects.stdout,
                                                redirects.mode(redirects.stdout, emptied)))
                       if redirects.stdout else None)
        stderr: Any = (files.enter_context(open(redirects.stderr,
                                                redirects.mode(redirects.stderr, emptied)))
                       if redirects.stderr else subprocess.PIPE)
        if _STOPPING.is_set():
            raise _stopping(name)
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=stdin, stdout=stdout,
                                    stderr=stderr, start_new_session=True)
        except FileNotFoundError as exc:
            raise FileNotFoundError(
                f"task '{name}': cannot run {argv[0]!r}: {exc.strerror} (not on the "
                f"worker's PATH, or not in the working directory {cwd})") from None
        except PermissionError as exc:
            raise PermissionError(f"task '{name}': cannot run {argv[0]!r}: "
                                  f"{exc.strerror}") from None
        with _LIVE_LOCK:
            stopping = _STOPPING.is_set()  # kill_all took its list while we started it
            if not stopping:
                _LIVE[proc.pid] = " ".join(argv)
        if stopping:
            kill_group(proc.pid, grace=0)
            proc.wait()
            raise _stopping(name)
        tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        copier = None
        if proc.stderr is not None:  # shown as it comes, its end kept for the error
            copier = threading.Thread(target=_copy_stderr, args=(proc.stderr, tail),
                                      daemon=True)
            copier.start()
        try:
            _wait(proc, time_out, name)
        finally:
            _reap(proc)
            if copier is not None:
                copier.join(timeout=5)
        if redirects.stderr:
            tail.extend(_file_tail(redirects.stderr))
        return ProcessResult(proc.returncode, "".join(tail).rstrip())


def _stopping(name: str) -> EngineError:
    return EngineError(f"task '{name}': its worker is stopping (the run was cancelled or "
                       "its job ended); the program was not started")


def _wait(proc: subprocess.Popen[bytes], time_out: float | None, name: str) -> None:
    deadline = None if not time_out else time.monotonic() + time_out
    pidfd = _pidfd(proc.pid)
    try:
        while True:
            step = _WAIT_STEP
            if deadline is not None:
                step = min(step, deadline - time.monotonic())
                if step <= 0:
                    kill_group(proc.pid)
                    proc.wait()
                    raise TaskTimeoutError(f"task '{name}' exceeded its time_out of "
                                           f"{time_out:g} s; its program was killed")
            if pidfd is not None:
                # Wakes the moment the program ends: no polling latency on short runs.
                ready, _, _ = select.select([pidfd], [], [], step)
                if ready:
                    proc.wait()
                    return
            else:
                try:
                    proc.wait(timeout=step)
                    return
                except subprocess.TimeoutExpired:
                    pass
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _reap(proc: subprocess.Popen[bytes]) -> None:
    """Kill the group (if the program still runs) and reap it, even if an interruption
    lands in the middle: a cancelled task must not leave a process behind."""
    interrupted: BaseException | None = None
    for _ in range(5):
        try:
            if proc.returncode is None:
                kill_group(proc.pid)  # the whole session, ranks in their own groups too
                proc.wait()
            else:
                # The program ended by itself (an mpirun has reaped its ranks): what it
                # left in its process group goes, at the cost of one system call.
                _signal_group(proc.pid, signal.SIGKILL)
            break
        except BaseException as exc:  # re-raised below, after the cleanup
            interrupted = interrupted or exc
    with _LIVE_LOCK:
        _LIVE.pop(proc.pid, None)
    if interrupted is not None:
        raise interrupted


def _pidfd(pid: int) -> int | None:
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        return opener(pid)
    except OSError:
        return None


def _copy_stderr(stream: IO[bytes], tail: collections.deque[str]) -> None:
    out = sys.stderr
    for raw in iter(stream.readline, b""):
        line = raw.decode(errors="replace")
        tail.append(line)
        with contextlib.suppress(Exception):
            out.write(line)
            out.flush()
    stream.close()


def _file_tail(path: str) -> list[str]:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 4096))
            lines = handle.read().decode(errors="replace").splitlines(keepends=True)
    except OSError:
        return []
    return lines[-_TAIL_LINES:]


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _session(sid: int) -> list[int]:
    """Live (non-zombie) processes of the session ``sid``: the program and everything
    it started, even in process groups of their own (Open MPI's ranks)."""
    members = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return members
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != b"Z":
            members.append(int(entry))
    return members


def _signal_session(sid: int, sig: int) -> int:
    members = _session(sid)
    for pid in members:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
    return len(members)


def kill_group(sid: int, grace: float = TERM_GRACE) -> None:
    """SIGTERM the program's whole session at once (mpirun and its ranks, whatever
    process groups they made), SIGKILL what is left after ``grace`` seconds."""
    _signal_group(sid, signal.SIGTERM)
    if not _signal_session(sid, signal.SIGTERM):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _session(sid):
            return
        time.sleep(0.05)
    _signal_session(sid, signal.SIGKILL)


def kill_all(grace: float = 1.0, *, for_good: bool = False) -> int:
    """Kill every program session this process started that still runs: SIGTERM to all
    at once, SIGKILL to what is left after one shared ``grace``. ``for_good``: none
    starts after (the worker is going away; a retry landing here meanwhile must not
    start a program that would outlive it)."""
    if for_good:
        _STOPPING.set()
    if not _LIVE_LOCK.acquire(timeout=1.0):  # from a signal handler: never hang on it
        return 0
    try:
        sessions = list(_LIVE)
        _LIVE.clear()
    finally:
        _LIVE_LOCK.release()
    for sid in sessions:
        _signal_group(sid, signal.SIGTERM)
        _signal_session(sid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_session(sid) for sid in sessions):
        time.sleep(0.05)
    for sid in sessions:
        _signal_session(sid, signal.SIGKILL)
    return len(sessions)


def kill_all_on_sigterm() -> None:
    """Let a SIGTERM of this worker process end its programs first.

    The programs run in sessions of their own (so one task's cancel reaches all its
    ranks), outside the process group a local run leads: the local executor's SIGTERM
    of that group, or a Slurm job's end, reaches the worker but not them, and a worker
    dying of SIGTERM's default action would leave them running. Installed from the
    worker's main thread (signal handlers can only be set there)."""
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)
    if getattr(previous, "kills_programs", False):
        return

    def on_sigterm(signum: int, frame: Any) -> None:
        kill_all(for_good=True)
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:  # the default action: die of it, as before
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    on_sigterm.kills_programs = True  # type: ignore[attr-defined]
    signal.signal(signal.SIGTERM, on_sigterm)
