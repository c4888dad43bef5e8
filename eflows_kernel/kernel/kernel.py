"""``EflowsKernel``: the IPython kernel with a PyCOMPSs engine that lives as long as it.

- ``pycompss.api.*`` imports work in cells from the start (the compatibility shim is
  installed when the kernel is created, unless the real PyCOMPSs is installed).
- The engine (a local Dask cluster, or an existing scheduler) starts in a background
  thread as soon as the kernel starts, so the kernel answers the frontend at once; the
  first cell waits for it to be ready before it runs.
- Each cell that submits tasks shows their live task graph
  (:mod:`eflows_kernel.kernel.integration`).
- ``%eflows workflows|executions|portal`` lists the registered workflows and their
  executions (:mod:`eflows_kernel.kernel.magics`).
- Shutting the kernel down or restarting it stops the engine first, which closes the
  local Dask cluster: no Dask process outlives the kernel.

Settings, from the kernel's environment:

``EFLOWS_WORKERS``             local worker processes (default: one per core)
``EFLOWS_THREADS_PER_WORKER``  threads per local worker (default: 1)
``EFLOWS_SCHEDULER``           address of an existing Dask scheduler to use instead
``EFLOWS_EVENT_LOG_DIR``       write each run's events to ``<dir>/<run id>.jsonl``
                              (default: ``<Jupyter data dir>/eflows/runs``, so every
                              notebook run can be replayed later; ``none`` to keep
                              events in memory only)
"""

from __future__ import annotations

import inspect
import os
import sys
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ipykernel.ipkernel import IPythonKernel

from eflows_kernel import __version__

#: How long a shutdown waits for an engine that is still starting.
STARTUP_WAIT_AT_SHUTDOWN = 3.0


def engine_options_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Options for :func:`eflows_kernel.start` from ``EFLOWS_*`` environment variables."""
    env = os.environ if environ is None else environ
    options: dict[str, Any] = {}
    for var, key in (("EFLOWS_WORKERS", "n_workers"),
                     ("EFLOWS_THREADS_PER_WORKER", "threads_per_worker")):
        value = env.get(var, "").strip()
        if value:
            try:
                number = int(value)
                if number < 1:
                    raise ValueError
            except ValueError:
                raise ValueError(f"{var} must be a positive integer, not {value!r}") from None
            options[key] = number
    scheduler = env.get("EFLOWS_SCHEDULER", "").strip()
    if scheduler:
        options["scheduler_address"] = scheduler
    log_dir = env.get("EFLOWS_EVENT_LOG_DIR", "").strip() or default_event_log_dir()
    if log_dir.lower() != "none":
        run_id = uuid.uuid4().hex[:12]
        path = Path(log_dir).expanduser()
        path.mkdir(parents=True, exist_ok=True)
        options["run_id"] = run_id
        options["event_log"] = path / f"{run_id}.jsonl"
    # Helper modules next to the notebook are importable on the workers too.
    options["extra_paths"] = [os.getcwd()]
    return options


def default_event_log_dir() -> str:
    from jupyter_core.paths import jupyter_data_dir

    return str(Path(jupyter_data_dir()) / "eflows" / "runs")


class EflowsKernel(IPythonKernel):
    """IPython kernel that runs PyCOMPSs tasks on its own Dask engine."""

    implementation = "eflows4hpc"
    implementation_version = __version__

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from eflows_kernel.compat import install_pycompss_shim

        install_pycompss_shim()
        self.engine: Any = None  # the engine the kernel started
        self.engine_error: BaseException | None = None
        self._engine_lock = threading.Lock()
        self._closing = False
        self._starter: threading.Thread | None = None

    @property
    def banner(self) -> str:  # type: ignore[override]
        base = IPythonKernel.banner.fget(self) or ""  # type: ignore[attr-defined]
        return (f"eFlows4HPC kernel {__version__}: PyCOMPSs tasks on Dask, with a live "
                f"task graph under each cell that submits tasks\n{base}")

    # -- engine lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        super().start()
        if self._starter is None:
            if self.shell is not None:
                from eflows_kernel.kernel.integration import register_magics

                register_magics(self.shell)  # before the engine: listings need none
                self.shell.events.register("pre_run_cell", self._engine_ready)
            self._starter = threading.Thread(target=self._start_engine, daemon=True,
                                             name="eflows-engine-start")
            self._starter.start()

    def _start_engine(self) -> None:
        import eflows_kernel

        try:
            # live_graph=False: the IPython callbacks are registered from the main
            # thread, before the first cell (see _engine_ready).
            engine = eflows_kernel.start(live_graph=False, **engine_options_from_env())
        except BaseException as exc:
            self.engine_error = exc
            self.log.error("eFlows: the engine did not start: %s", exc)
            return
        with self._engine_lock:
            closing = self._closing
            self.engine = engine
        if closing:  # the kernel was shut down while the engine was starting
            engine.stop()

    def _engine_ready(self, info: Any = None) -> None:
        """Before the first cell: wait for the engine, then show graphs for its tasks."""
        if self._starter is not None:
            self._starter.join()
        if self.shell is not None:
            self.shell.events.unregister("pre_run_cell", self._engine_ready)
        if self.engine_error is not None:
            print(f"eFlows: the engine did not start ({type(self.engine_error).__name__}: "
                  f"{self.engine_error}); tasks run as plain function calls until "
                  "eflows_kernel.start(...) succeeds.", file=sys.stderr)
            return
        from eflows_kernel.engine import current_engine
        from eflows_kernel.kernel.integration import enable

        if self.engine is not None and current_engine() is self.engine:
            enable(self.engine, shell=self.shell)

    def stop_engines(self) -> None:
        """Stop the kernel's engine and the current one (if the user started another)."""
        from eflows_kernel.engine import current_engine
        from eflows_kernel.kernel.integration import disable

        with self._engine_lock:
            self._closing = True
        if self._starter is not None:
            self._starter.join(STARTUP_WAIT_AT_SHUTDOWN)
        disable()
        with self._engine_lock:
            engines = [self.engine, current_engine()]
        for engine in {id(e): e for e in engines if e is not None}.values():
            try:
                engine.stop()
            except Exception:
                self.log.exception("eFlows: stopping engine %s failed", engine.run_id)

    async def do_shutdown(self, restart: bool) -> dict[str, Any]:  # type: ignore[override]
        """Stop the engine (and its local Dask cluster) before the kernel exits."""
        self.stop_engines()
        result = super().do_shutdown(restart)
        if inspect.isawaitable(result):
            result = await result
        return result


__all__ = ["EflowsKernel", "engine_options_from_env"]
