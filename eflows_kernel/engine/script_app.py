"""An application that is a shell script (the registry's esm ``launch_fesom2.sh``).

Why: a PyCOMPSs job's ``command`` is sometimes a launcher script that sets things up
and calls ``enqueue_compss`` / ``runcompss`` on its ``.py`` itself. ``eflows-run`` runs
Python applications in-process, so a script is run as a program instead, inside the
run (its run events, its workers, its Slurm allocation), with ``runcompss`` and
``enqueue_compss`` first on its ``PATH``: both start ``eflows-run`` on this run's Dask
scheduler (the same workers), as a job already submitted (the options that size a
batch job are said to have no effect, as for the step's own job). Each of those inner
runs writes its own event log beside the run's (``events-<pid>.jsonl``).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile

SHIMS = ("runcompss", "enqueue_compss")


def is_script(path: str) -> bool:
    """A program that is not Python: a ``#!`` line naming no python, or a ``.sh``."""
    if path.endswith(".py"):
        return False
    if path.endswith(".sh"):
        return True
    try:
        with open(path, "rb") as handle:
            first = handle.readline(200)
    except OSError:
        return False
    return first.startswith(b"#!") and b"python" not in first


def _shim_dir(scheduler: str) -> str:
    """A folder holding ``runcompss`` and ``enqueue_compss`` for this run."""
    folder = tempfile.mkdtemp(prefix=".eflows-bin-", dir=os.getcwd())
    runner = [sys.executable, "-m", "eflows_kernel.engine.runner", "--scheduler", scheduler,
              "--submitted-job"]
    line = " ".join(shlex.quote(part) for part in runner)
    events = shlex.quote(os.path.join(os.getcwd(), "events-"))
    for name in SHIMS:
        path = os.path.join(folder, name)
        with open(path, "w") as handle:
            handle.write("#!/bin/sh\n# eflows: this run's COMPSs, on its Dask workers\n"
                         f'exec {line} --event-log {events}"$$.jsonl" "$@"\n')
        os.chmod(path, 0o755)
    return folder


def run_script(app: str, arguments: list[str], scheduler: str) -> int:
    """Run the script with its arguments (its exit status), COMPSs' commands on its path."""
    env = dict(os.environ)
    env["PATH"] = _shim_dir(scheduler) + os.pathsep + env.get("PATH", "")
    command = [app, *arguments] if os.access(app, os.X_OK) else ["bash", app, *arguments]
    process = subprocess.Popen(command, env=env)
    try:
        return process.wait()
    except BaseException:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        raise


__all__ = ["is_script", "run_script"]
