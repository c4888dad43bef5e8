"""After a task failure stopped the run, the notebook goes on: report once, start anew.

A fatal task failure stops the engine's run (PyCOMPSs semantics: what is still to do
is cancelled, every wait raises the failure). In a script that ends the program; in
a notebook it must not take a kernel restart. So, in IPython:

- the cell that meets the failure shows it once, readably: the user's frames, the
  library's folded into one line, the task's own traceback, what happened and what
  to do (:func:`show_task_error`, IPython's custom exception handler);
- right after that cell (or before the next one, when the failure happened while no
  cell was waiting), :func:`recover` starts a new run on the same cluster
  (:meth:`Engine.new_run`); the old run's graph and event log are kept. The same is
  one call away by hand: ``eflows_kernel.reset()``.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

from eflows_kernel.model.exceptions import COMPSsException, TaskCancelledError, TaskFailedError

# The package's own folder (kernel/ is one level below it): frames from there are folded.
_LIBRARY = str(Path(__file__).resolve().parent.parent)
HANDLED = (TaskFailedError, TaskCancelledError, COMPSsException)


def _is_library(frame: types.FrameType) -> bool:
    filename = frame.f_code.co_filename
    return filename.startswith(_LIBRARY)


def fold_library_frames(tb: types.TracebackType | None) -> tuple[types.TracebackType | None, int]:
    """The traceback without eflows_kernel's frames (the first one, IPython's, is kept),
    and how many were left out."""
    kept: list[types.TracebackType] = []
    hidden = 0
    first = True
    while tb is not None:
        if first or not _is_library(tb.tb_frame):
            kept.append(tb)
        else:
            hidden += 1
        first = False
        tb = tb.tb_next
    folded: types.TracebackType | None = None
    for entry in reversed(kept):
        folded = types.TracebackType(folded, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return folded, hidden


def _engine() -> Any:
    from eflows_kernel.engine import current_engine

    return current_engine()


def next_step_note(engine: Any) -> str:
    """What happens next, once a failure has stopped ``engine``'s run."""
    if engine is None or engine.graph.fatal is None:
        return ""
    log = engine.events.log_path
    kept = f"; its event log is kept: {log}" if log else ""
    return (f"eFlows: run {engine.run_id} stopped. The next cell starts a new run on the same "
            f"workers (eflows_kernel.reset() starts it now); this run's graph stays above"
            f"{kept}")


CANCELLED_NOTE = ("eFlows: the task never ran: a task it depends on did not succeed, or the "
                  "run stopped. Run again the cells that compute its inputs.")


def show_task_error(shell: Any, etype: type[BaseException], value: BaseException,
                    tb: types.TracebackType | None, tb_offset: int | None = None) -> list[str]:
    """IPython custom exception handler for task failures (see module docstring)."""
    folded, hidden = fold_library_frames(tb)
    stb = list(shell.InteractiveTB.structured_traceback(etype, value, folded,
                                                        tb_offset=tb_offset))
    if hidden and len(stb) > 1:
        frames = "frame" if hidden == 1 else "frames"
        stb.insert(len(stb) - 1, f"    [... {hidden} eflows_kernel {frames} hidden: "
                                 "the library's, not your code]\n")
    note = (next_step_note(_engine()) if isinstance(value, TaskFailedError) else
            CANCELLED_NOTE if isinstance(value, TaskCancelledError) else "")
    if note:
        stb.append("\n" + note)
    shell._showtraceback(etype, value, stb)
    return stb


def install_error_display(shell: Any) -> None:
    """Show task failures with :func:`show_task_error` (unless the user set a handler)."""
    if getattr(shell, "custom_exceptions", ()) in ((), HANDLED):
        shell.set_custom_exc(HANDLED, show_task_error)


def uninstall_error_display(shell: Any) -> None:
    if getattr(shell, "custom_exceptions", ()) == HANDLED:
        shell.set_custom_exc((), None)


def recover(engine: Any, error_shown: BaseException | None = None) -> str | None:
    """Start a new run if a task failure stopped ``engine``'s; returns the old run's id.

    ``error_shown`` is the exception the cell ended with: when it is the failure, the
    user has read about it already; otherwise (it happened while no cell waited for
    it) a short report goes to stderr, once.
    """
    if engine is None or getattr(engine, "_stopped", True):
        return None
    fatal = engine.graph.fatal
    if fatal is None:
        return None
    shown = isinstance(error_shown, TaskFailedError) and (
        error_shown is fatal or error_shown.task_id == fatal.task_id)
    old_log = engine.events.log_path
    old_run = engine.new_run("the run stopped after a task failure")
    if not shown:
        headline = str(fatal).split("\n", 1)[0]
        last = [ln for ln in (fatal.remote_traceback or "").splitlines() if ln.strip()]
        print(f"eFlows: {headline}" + (f"\n  {last[-1]}" if last else "")
              + f"\neFlows: run {old_run} stopped; a new run ({engine.run_id}) goes on with "
              f"the same workers" + (f" (the old event log: {old_log})" if old_log else "")
              + ".", file=sys.stderr)
    return old_run


__all__ = ["fold_library_frames", "install_error_display", "next_step_note", "recover",
           "show_task_error", "uninstall_error_display"]
