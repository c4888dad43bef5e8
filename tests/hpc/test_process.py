"""Programs run by HPC tasks: redirections, exit values, and nothing left running."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from eflows_kernel.engine.launch import process
from eflows_kernel.engine.launch.process import Redirects, run_process
from eflows_kernel.model.exceptions import TaskTimeoutError


def test_redirections_append_and_stderr_tail(tmp_path: Path) -> None:
    source, out = tmp_path / "in.txt", tmp_path / "out.txt"
    source.write_text("b\na\n")
    out.write_text("kept\n")
    result = run_process(["sh", "-c", "sort; echo oops >&2; exit 4"], cwd=str(tmp_path),
                         env=dict(os.environ), redirects=Redirects(str(source), str(out)))
    assert result.exit_value == 4 and result.stderr_tail == "oops"
    assert out.read_text() == "kept\na\nb\n"  # appended, as COMPSs' binary runner does


def test_time_out_kills_the_whole_session(tmp_path: Path, no_leftover) -> None:
    marker = "61.2503"
    no_leftover(f"sleep {marker}")
    # A child that ignores SIGTERM, in a process group of its own (as Open MPI's ranks;
    # `set -m` gives each background job its own group).
    script = f"set -m; sh -c 'trap \"\" TERM; sleep {marker}' & sleep {marker}"
    started = time.monotonic()
    with pytest.raises(TaskTimeoutError, match="time_out of 1 s"):
        run_process(["sh", "-c", script], cwd=str(tmp_path), env=dict(os.environ),
                    time_out=1, name="t")
    assert time.monotonic() - started < 1 + process.TERM_GRACE + 2


def test_an_interrupted_wait_kills_the_program(tmp_path: Path, no_leftover) -> None:
    """What a cancelled task's thread sees: an exception raised into it while it waits."""
    import ctypes

    marker = "62.5017"
    no_leftover(f"sleep {marker}")
    errors: list[BaseException] = []

    def target() -> None:
        try:
            run_process(["sleep", marker], cwd=str(tmp_path), env=dict(os.environ))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    time.sleep(0.5)
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident),
                                               ctypes.py_object(KeyboardInterrupt))
    thread.join(timeout=10)
    assert not thread.is_alive() and isinstance(errors[0], KeyboardInterrupt)


def test_a_missing_program_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="cannot run 'no-such-program'"):
        run_process(["no-such-program"], cwd=str(tmp_path), env=dict(os.environ), name="t")
