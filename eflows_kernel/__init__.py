"""eFlows4HPC for Jupyter: PyCOMPSs workflows on Dask, with live task events.

In a notebook or script::

    import eflows_kernel
    engine = eflows_kernel.start(n_workers=2)
    ...  # call @task functions
    eflows_kernel.stop()

Applications written for PyCOMPSs run unchanged with ``eflows-run app.py args``.
"""

from __future__ import annotations

from typing import Any

from eflows_kernel.about import __version__ as __version__


def start(live_graph: bool = True, **options: Any) -> Any:
    """Start an engine for this process (the kernel does this for you).

    Options are those of :class:`eflows_kernel.engine.ClusterConfig` (``n_workers``,
    ``threads_per_worker``, ``scheduler_address``...) plus ``event_log`` and ``run_id``.
    With ``live_graph`` (the default), inside IPython/Jupyter each cell that submits
    tasks shows their live task graph, until :func:`stop`.
    """
    from eflows_kernel.compat import install_pycompss_shim
    from eflows_kernel.engine import ClusterConfig, Engine, EngineConfig

    engine_keys = {"event_log", "run_id", "app", "record_args", "history", "checkpoint"}
    engine_options = {k: options.pop(k) for k in list(options) if k in engine_keys}
    install_pycompss_shim()
    engine = Engine(EngineConfig(cluster=ClusterConfig(**options), **engine_options)).start()
    from eflows_kernel.kernel.integration import setup_ipython

    setup_ipython(engine, live_graph)  # inside IPython/Jupyter only
    return engine


def current_engine() -> Any:
    """The engine of this process (the kernel's, or the one ``start`` made), or None."""
    from eflows_kernel.engine import current_engine as _current

    return _current()


def live_view(**options: Any) -> Any:
    """Live task graph of the current run; see :func:`eflows_kernel.widgets.live_view`."""
    from eflows_kernel.widgets import live_view as _live_view

    return _live_view(**options)


def portal(client: Any = None) -> Any:
    """The eFlows4HPC portal widget (credentials, sites, workflows, deploy, executions).

    ``client`` defaults to ``eflows_kernel.client.connect()``: the Jupyter server's
    services when ``$EFLOWS_URL`` is set (as in its kernels), else this process's.
    """
    from eflows_kernel.ui.portal import Portal

    return Portal(client)


def reset() -> Any:
    """Go on with a new run on the current engine (same workers), e.g. after a task
    failure stopped the run: every wait of the old run raised that failure.

    The old run keeps its graphs and its event log; its done tasks' outputs can still be
    used. The eFlows kernel (and IPython after :func:`start`) does this by itself after
    the cell that met the failure. Returns the engine.
    """
    from eflows_kernel.engine import current_engine
    from eflows_kernel.kernel.integration import active

    engine = current_engine()
    if engine is None:
        raise RuntimeError("no engine is running: use the eFlows4HPC kernel, or call "
                           "eflows_kernel.start() first")
    engine.new_run()
    graphs = active()
    if graphs is not None and graphs.engine is engine:
        graphs.attach(engine)
    return engine


def stop() -> None:
    """Wait for the current engine's tasks, then stop it (and its live task graphs)."""
    from eflows_kernel.engine import current_engine
    from eflows_kernel.kernel.integration import disable

    engine = current_engine()
    try:
        if engine is not None:
            try:
                engine.barrier()
            finally:
                engine.stop()
    finally:
        disable()
