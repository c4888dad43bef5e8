"""IPython integration: a live task graph under each cell that submits tasks.

Shared by the eFlows kernel and plain IPython kernels (where ``eflows_kernel.start()``
enables it and ``eflows_kernel.stop()`` disables it). While enabled, the integration
listens to the attached engine's event stream; the first event of a task (the one with
a ``name``) is emitted in the thread that calls the task, during the call, so the first
task a cell submits displays ``live_view(engine, first_task=<its id>)`` right there,
once per cell. Cells that submit no task show nothing.

After a task failure stopped the run, the cell that meets it shows it once and the
engine goes on with a new run (:mod:`eflows_kernel.kernel.recovery`), so the next
cell works without a restart.

Interrupting a Jupyter kernel sends SIGINT to its whole process group, which holds the
local Dask worker processes: :func:`protect_workers_from_interrupts` makes those
workers ignore it, so an interrupt stops the cell, not the cluster.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

_lock = threading.Lock()
_active: CellGraphs | None = None


class CellGraphs:
    """Shows a live task graph under each cell of ``shell`` that submits tasks."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.engine: Any = None
        self._stream: Any = None  # the engine's event stream followed (one per run)
        self.last_view: Any = None  # the widget shown last, and its first task
        self.last_first_task: int | None = None
        self._subscription: Any = None
        self._lock = threading.Lock()
        self._last_task = 0  # highest task id seen in the attached engine's run
        # Created from a running cell (start() in a cell, or the kernel's first cell):
        # the rest of that cell counts as a cell.
        self._in_cell = True
        self._cell_first: int | None = 1  # first task id of the current cell
        self._displayed = False
        self._registered = False

    # -- IPython callbacks ----------------------------------------------------------------
    def register(self) -> None:
        if not self._registered:
            from eflows_kernel.kernel.recovery import install_error_display

            self.shell.events.register("pre_run_cell", self.pre_run_cell)
            self.shell.events.register("post_run_cell", self.post_run_cell)
            install_error_display(self.shell)
            self._registered = True

    def unregister(self) -> None:
        if self._registered:
            from eflows_kernel.kernel.recovery import uninstall_error_display

            self._registered = False
            uninstall_error_display(self.shell)
            for event, callback in (("pre_run_cell", self.pre_run_cell),
                                    ("post_run_cell", self.post_run_cell)):
                with contextlib.suppress(ValueError):
                    self.shell.events.unregister(event, callback)

    def pre_run_cell(self, info: Any = None) -> None:
        self._recover()  # a failure while no cell was waiting: reported, then a new run
        with self._lock:
            self._in_cell = True
            self._displayed = False
            self._cell_first = self._last_task + 1

    def post_run_cell(self, result: Any = None) -> None:
        with self._lock:
            self._in_cell = False
            shown_this_cell = self._displayed and self._cell_first is not None
            self._cell_first = None
            last_task = self._last_task
        if shown_this_cell and self.last_view is not None:
            self.last_view.seal(last_task)  # later cells' tasks go to their own graphs
        self._recover(getattr(result, "error_in_exec", None))

    def _recover(self, error_shown: BaseException | None = None) -> None:
        """A new run if a task failure stopped the engine's (see recovery.py)."""
        engine = self.engine
        if engine is None or engine.graph.fatal is None:
            return
        from eflows_kernel.kernel.recovery import recover

        try:
            if recover(engine, error_shown) is not None:
                self.attach(engine)
        except Exception as exc:  # never break the cell; say what to do instead
            print(f"eFlows: could not start a new run ({type(exc).__name__}: {exc}); "
                  "restart the kernel to go on", file=sys.stderr)

    # -- engine -----------------------------------------------------------------------------
    def attach(self, engine: Any) -> None:
        """Follow ``engine``'s run (replacing the engine followed so far)."""
        if (engine is self.engine and engine.events is self._stream
                and self._subscription is not None):
            return
        self.detach()
        with self._lock:
            self.engine = engine
            self._stream = engine.events
            self._last_task = 0
            self._cell_first = None  # the history replayed below is no cell's tasks
        subscription = self._stream.subscribe(self._on_event, from_seq=0)
        with self._lock:
            self._subscription = subscription
            if self._in_cell:
                self._displayed = False
                self._cell_first = self._last_task + 1

    def detach(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            subscription.close()
        self.engine = None
        self._stream = None

    def close(self) -> None:
        self.unregister()
        self.detach()
        if self.last_view is not None:
            # The run is over (eflows_kernel.stop()): its last picture goes into the
            # widget's state now, while the cell still runs, so a notebook saved with its
            # widget state reopens showing the run as it ended.
            self.last_view.refresh(keyframe=True)

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") != "task":
            return
        task_id = event.get("task")
        if not isinstance(task_id, int):
            return
        with self._lock:
            self._last_task = max(self._last_task, task_id)
            first = self._cell_first
            if (first is None or self._displayed or "name" not in event
                    or task_id < first):
                return
            self._displayed = True
            engine = self.engine
        self._show(engine, task_id)

    def _show(self, engine: Any, first_task: int) -> None:
        try:
            from IPython.display import display

            from eflows_kernel.widgets import live_view

            view = live_view(engine, first_task=first_task)
            display(view)
            self.last_view, self.last_first_task = view, first_task
        except Exception as exc:  # the graph is a view: never fail the user's call
            print(f"eFlows: cannot show the live task graph: {type(exc).__name__}: {exc}",
                  file=sys.stderr)


class IgnoreInterrupts(WorkerPlugin):
    """Worker plugin: the worker process ignores SIGINT (the kernel's interrupts)."""

    name = "eflows-ignore-interrupts"

    def setup(self, worker: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def protect_workers_from_interrupts(engine: Any) -> None:
    """Make the local cluster's workers (present and future) ignore kernel interrupts.

    Workers of an existing scheduler are not in the kernel's process group and are
    left alone.
    """
    if getattr(engine, "cluster", None) is not None and engine.client is not None:
        engine.client.register_plugin(IgnoreInterrupts())


def setup_ipython(engine: Any, live_graph: bool = True) -> None:
    """What ``eflows_kernel.start()`` does inside IPython (nothing outside it)."""
    if current_shell() is None:
        return
    try:
        protect_workers_from_interrupts(engine)
    except Exception as exc:  # the engine works without it
        print(f"eFlows: kernel interrupts may stop Dask workers ({type(exc).__name__}: "
              f"{exc})", file=sys.stderr)
    if live_graph:
        enable(engine)


def current_shell() -> Any:
    """The running IPython shell, or None (IPython is never imported just to ask)."""
    if "IPython" not in sys.modules:
        return None
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def enable(engine: Any = None, shell: Any = None) -> CellGraphs | None:
    """Show live task graphs in ``shell`` (default: the running IPython) for ``engine``.

    Returns None outside IPython. Enabling again switches to the new engine.
    """
    global _active
    shell = shell if shell is not None else current_shell()
    if shell is None:
        return None
    register_magics(shell)
    with _lock:
        if _active is not None and _active.shell is not shell:
            _active.close()
            _active = None
        if _active is None:
            _active = CellGraphs(shell)
            _active.register()
        graphs = _active
    if engine is not None:
        graphs.attach(engine)
    return graphs


def register_magics(shell: Any) -> None:
    """``%eflows`` (workflows, executions, portal) in ``shell``, once per shell.

    Wherever the engine is enabled, so a plain IPython kernel that called
    ``eflows_kernel.start()`` lists workflows and executions as the eFlows kernel does.
    A failure is reported, never raised: the engine works without the magic.
    """
    if getattr(shell, "_eflows_magics", False):
        return
    try:
        from eflows_kernel.kernel.magics import register

        register(shell)
        shell._eflows_magics = True
    except Exception as exc:
        print(f"eFlows: %eflows is not available ({type(exc).__name__}: {exc})",
              file=sys.stderr)


def disable() -> None:
    """Stop showing live task graphs (unregisters the IPython callbacks)."""
    global _active
    with _lock:
        graphs, _active = _active, None
    if graphs is not None:
        graphs.close()


def active() -> CellGraphs | None:
    """The enabled integration, if any."""
    return _active


__all__ = ["CellGraphs", "IgnoreInterrupts", "active", "current_shell", "disable", "enable",
           "protect_workers_from_interrupts", "register_magics", "setup_ipython"]
