"""The sidecar that turns a live ``runcompss`` into our event log, inside the job.

The deployer follows every remote run the same way: it tails ``<run_dir>/events.jsonl``
from the sequence number it reserved (``--first-seq``) and asks Slurm whether the job
still runs. A COMPSs run writes no such log, so the job script starts this sidecar next
to ``runcompss``::

    python -m eflows_kernel.compss.follow --log-dir DIR --event-log PATH --run-id ID \\
        --first-seq K --pid PID --exit-file FILE [--interval S] [--app NAME]

It writes a ``run`` ``starting`` event at once (so the execution shows *running* as soon
as the job does, even while the JVM boots), waits for the runtime to create its monitor
directory somewhere under ``DIR``, mirrors it with
:class:`~eflows_kernel.compss.monitor.CompssMonitorReader` every ``S`` seconds, and once
``runcompss`` has exited does a last poll and writes the final ``run`` event: ``done``
when runcompss exited 0, ``failed`` otherwise (the status and the COMPSs log directory
are in the error, because that is where a user has to look next).

How it learns the exit status: a process cannot ``wait()`` for its sibling, so the job
script does (``wait $pid``) and writes the status to ``FILE``; the sidecar watches that
file, with ``PID`` only as a fallback for a script killed before writing it.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eflows_kernel.compss.monitor import (
    COMPLETE_GRAPH,
    CURRENT_GRAPH,
    STATE_XML,
    CompssMonitorReader,
)
from eflows_kernel.events import EventStream

__all__ = ["find_monitor_dir", "follow", "main", "read_exit_status"]

EXIT_FILE_GRACE = 10.0  # seconds to wait for the exit file once the runtime's pid is gone
_MONITOR_FILES = (COMPLETE_GRAPH, CURRENT_GRAPH, STATE_XML)


def find_monitor_dir(log_dir: Path) -> Path | None:
    """The ``monitor`` directory the runtime writes, wherever its version put it.

    COMPSs versions differ: ``--log_dir`` may be the application's own directory
    (``<log_dir>/monitor``) or a base holding ``<app>_NN/`` (directly or under
    ``.COMPSs/``). We look at those layouts and take the most recently changed one, so a
    re-used base directory with an older ``<app>_01`` does not win over the new run.
    """
    candidates = [log_dir / "monitor", *log_dir.glob("*/monitor"),
                  *log_dir.glob(".COMPSs/*/monitor"), *log_dir.glob("*/*/monitor")]
    found: list[tuple[int, Path]] = []
    for candidate in candidates:
        try:
            if not candidate.is_dir():
                continue
            stamps = [candidate.stat().st_mtime_ns]
            for name in _MONITOR_FILES:
                if (candidate / name).exists():
                    stamps.append((candidate / name).stat().st_mtime_ns)
        except OSError:
            continue
        found.append((max(stamps), candidate))
    return max(found)[1] if found else None


def read_exit_status(path: Path | None) -> int | None:
    """The status the job script recorded, or None while it is not (fully) written."""
    if path is None:
        return None
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if not text.lstrip("-").isdigit():
        return None
    return int(text)


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def follow(log_dir: str | Path, stream: EventStream, *, pid: int | None,
           exit_file: str | Path | None, interval: float = 2.0, app: str | None = None,
           stop: threading.Event | None = None,
           exit_grace: float = EXIT_FILE_GRACE) -> dict[str, Any]:
    """Mirror one COMPSs run into ``stream`` until it ends; returns the final run event.

    ``stop`` set from outside (SIGTERM: Slurm cancel or time limit) ends the run
    ``cancelled`` after a last poll, so the graph shows what had happened until then.
    """
    log_dir = Path(log_dir)
    exit_path = Path(exit_file) if exit_file is not None else None
    stop = stop or threading.Event()
    stream.emit("run", state="starting", app=app,
                info={"runtime": "COMPSs", "log_dir": str(log_dir),
                      **({"pid": pid} if pid is not None else {})})
    reader: CompssMonitorReader | None = None
    status: int | None = None
    gone_since: float | None = None

    def poll() -> None:
        nonlocal reader
        if reader is None:
            monitor = find_monitor_dir(log_dir)
            if monitor is None:
                return
            reader = CompssMonitorReader(monitor, stream, app=app)
        try:
            reader.poll()
        except Exception as error:  # a file we cannot read must not end the mirror
            print(f"eflows compss follow: cannot read {reader.monitor_dir}: {error!r}",
                  file=sys.stderr, flush=True)

    while not stop.is_set():
        poll()
        status = read_exit_status(exit_path)
        if status is not None:
            break
        if not _alive(pid):
            gone_since = gone_since or time.monotonic()
            if time.monotonic() - gone_since >= exit_grace:
                break
        stop.wait(interval if gone_since is None else min(interval, 0.2))
    poll()  # the runtime writes its last monitor files before it exits
    status = read_exit_status(exit_path) if status is None else status
    where = str(reader.monitor_dir.parent) if reader is not None else str(log_dir)
    if stop.is_set() and status is None:
        state, error = "cancelled", ("the job was stopped (cancelled, or out of time) "
                                     f"before runcompss ended; COMPSs logs in {where}")
    elif status == 0:
        state, error = "done", None
    elif status is None:
        state, error = "failed", (f"runcompss ended without an exit status (killed?); "
                                  f"see the COMPSs logs in {where}")
    else:
        state, error = "failed", (f"runcompss exited with status {status}; see the COMPSs "
                                  f"logs in {where} (runtime.log, jobs/)")
    if reader is None:
        reader = CompssMonitorReader(log_dir, stream, app=app)
    events = reader.finish(state, error=error)
    stream.flush()
    return events[-1]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eflows_kernel.compss.follow",
                                description="Mirror a COMPSs run's monitor files into an "
                                "eflows event log until runcompss exits.")
    p.add_argument("--log-dir", required=True, help="the COMPSs log dir (or a base above it)")
    p.add_argument("--event-log", required=True)
    p.add_argument("--run-id", required=True)
    p.add_argument("--first-seq", type=int, default=1)
    p.add_argument("--pid", type=int, default=None, help="runcompss's process id")
    p.add_argument("--exit-file", default=None,
                   help="where the job script writes runcompss's exit status")
    p.add_argument("--interval", type=float, default=2.0)
    p.add_argument("--app", default=None)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.first_seq < 1:
        raise SystemExit("--first-seq must be >= 1")
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stream = EventStream(args.run_id, args.event_log, first_seq=args.first_seq)
    try:
        final = follow(args.log_dir, stream, pid=args.pid, exit_file=args.exit_file,
                       interval=args.interval, app=args.app, stop=stop)
    finally:
        stream.close()
    return 0 if final.get("state") == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
