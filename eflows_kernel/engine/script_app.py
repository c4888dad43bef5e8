"""An application that is a shell script (the registry's esm ``launch_fesom2.sh``).

Why: a PyCOMPSs job's ``command`` is sometimes a launcher script that sets things up
and calls ``enqueue_compss`` / ``runcompss`` on its ``.py`` itself. ``eflows-run`` runs
Python applications in-process, so a script is run as a program instead, inside the
run (its run events, its workers, its Slurm allocation), with ``runcompss`` and
``enqueue_compss`` first on its ``PATH``: both start ``eflows-run`` on this run's Dask
scheduler (the same workers), as a job already submitted (the options that size a
batch job are said to have no effect, as for the step's own job). Each of those inner
runs writes its own event log (``events-<pid>-<random>.jsonl`` in the run's
``.eflows-script-*`` folder), which :class:`~eflows_kernel.engine.inner_runs.InnerRuns`
merges into the run's own as it grows: the inner runs' tasks are the run's, live,
wherever the run's log is followed from.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import tempfile
from typing import TYPE_CHECKING

import psutil

from eflows_kernel.engine.inner_runs import InnerRuns

if TYPE_CHECKING:
    from eflows_kernel.engine.engine import Engine

SHIMS = ("runcompss", "enqueue_compss")


def script_shebang(path: str) -> bytes | None:
    """None when ``path`` is a Python application; else it is a program that is not (a
    ``#!`` line naming no python, or a ``.sh``) and this is its ``#!`` line, b"" when it
    has none (read once: :func:`run_script` runs it by that line)."""
    if path.endswith(".py"):
        return None
    try:
        with open(path, "rb") as handle:
            first = handle.readline(200)
    except OSError:
        first = b""
    shebang = first if first.startswith(b"#!") else b""
    if path.endswith(".sh"):
        return shebang
    return shebang if shebang and b"python" not in shebang else None


def _shim_dir(scheduler: str, logs: str) -> str:
    """A folder holding ``runcompss`` and ``enqueue_compss`` for this run, each inner run
    logging its events into ``logs``."""
    folder = os.path.join(logs, "bin")
    os.mkdir(folder)
    runner = [sys.executable, "-m", "eflows_kernel.engine.runner", "--scheduler", scheduler,
              "--submitted-job"]
    line = " ".join(shlex.quote(part) for part in runner)
    # Each inner run's own log: named by the shell's pid alone, a pid the system hands
    # out again later in a long script would append a second run to the first one's log.
    # mktemp reserves a unique name (kept, so never handed out again) and the log is that
    # name + .jsonl (trailing X's: busybox's mktemp in an image takes no suffix).
    template = shlex.quote(os.path.join(logs, "events-"))
    for name in SHIMS:
        path = os.path.join(folder, name)
        with open(path, "w") as handle:
            handle.write("#!/bin/sh\n# eflows: this run's COMPSs, on its Dask workers\n"
                         f'name=$(mktemp {template}"$$-XXXXXX") || exit 1\n'
                         f'exec {line} --event-log "$name.jsonl" "$@"\n')
        os.chmod(path, 0o755)
    return folder


def run_script(app: str, arguments: list[str], engine: Engine, shebang: bytes) -> int:
    """Run the script with its arguments (its exit status), COMPSs' commands on its path,
    the tasks of its inner runs merged into the engine's events and final counts;
    ``shebang`` is its ``#!`` line (:func:`script_shebang`)."""
    logs = tempfile.mkdtemp(prefix=".eflows-script-", dir=os.getcwd())
    env = dict(os.environ)
    env["PATH"] = (_shim_dir(engine.client.scheduler.address, logs) + os.pathsep
                   + env.get("PATH", ""))
    inner = InnerRuns(engine.events, logs, engine.new_task_id).start()
    engine.more_counts.append(inner.counts)
    try:
        process = subprocess.Popen(_command(app, arguments, shebang), env=env)
        try:
            return process.wait()
        except BaseException:
            _end(process)
            raise
    finally:
        inner.close()


def _command(app: str, arguments: list[str], shebang: bytes) -> list[str]:
    """The script run as a shell would run it: by its ``#!`` line when executable, else
    by bash (an executable script without one fails ``exec`` with ENOEXEC, which a
    shell answers by running it itself)."""
    if shebang and os.access(app, os.X_OK):
        return [app, *arguments]
    return ["bash", app, *arguments]


def _end(process: subprocess.Popen) -> None:
    """SIGTERM to the script and to what it started, SIGKILL to what is left after 10 s.

    Its inner runs too, not only the script: bash does not pass a SIGTERM on to its
    children, and an inner run that is told ends its tasks and logs that it was cancelled.
    """
    try:
        script = psutil.Process(process.pid)
        family = [*script.children(recursive=True), script]
    except psutil.Error:
        family = []
    for member in family:
        with contextlib.suppress(psutil.Error):
            member.terminate()
    _gone, alive = psutil.wait_procs(family, timeout=10)
    for member in alive:
        with contextlib.suppress(psutil.Error):
            member.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)


__all__ = ["run_script", "script_shebang"]
