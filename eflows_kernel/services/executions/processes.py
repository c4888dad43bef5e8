"""The local runs' processes: naming them so a restarted server finds them, and ending them.

A local run leads its own process group (the runner, the Dask scheduler and workers it
spawns), so signalling the group ends everything it started. Its ``remote_job_id`` names
the leader by pid *and* start time: pids are reused, and a restarted server must neither
adopt nor kill an unrelated process.
"""

from __future__ import annotations

import contextlib
import os

import psutil

JOB_PREFIX = "local-pid"


def job_id_of(process: psutil.Process) -> str:
    """``remote_job_id`` of a local run: the pid plus its start time.

    The start time is kept because pids are reused: after a restart a pid alone
    could name an unrelated process, which we must neither adopt nor kill.
    """
    return f"{JOB_PREFIX}:{process.pid}:{process.create_time():.3f}"


def live_process(job_id: str | None) -> psutil.Process | None:
    """The process ``job_id`` names if it still runs (same pid *and* start time)."""
    if not job_id or not job_id.startswith(JOB_PREFIX + ":"):
        return None
    try:
        _, pid, started = job_id.split(":")
        process = psutil.Process(int(pid))
        if abs(process.create_time() - float(started)) > 0.01:
            return None
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process
    except (ValueError, psutil.Error):
        return None


def group_members(pgid: int) -> list[psutil.Process]:
    """Live (non-zombie) processes of a process group.

    ``killpg(pgid, 0)`` is not enough: orphaned Dask workers that already died
    may linger as zombies when PID 1 does not reap (containers), and those are gone
    for every practical purpose.
    """
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
