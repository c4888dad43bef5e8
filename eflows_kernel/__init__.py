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

__version__ = "0.1.0"


def start(**options: Any) -> Any:
    """Start an engine for this process (the kernel does this for you).

    Options are those of :class:`eflows_kernel.engine.ClusterConfig` (``n_workers``,
    ``threads_per_worker``, ``scheduler_address``...) plus ``event_log`` and ``run_id``.
    """
    from eflows_kernel.compat import install_pycompss_shim
    from eflows_kernel.engine import ClusterConfig, Engine, EngineConfig

    engine_keys = {"event_log", "run_id", "app", "record_args", "history"}
    engine_options = {k: options.pop(k) for k in list(options) if k in engine_keys}
    install_pycompss_shim()
    return Engine(EngineConfig(cluster=ClusterConfig(**options), **engine_options)).start()


def stop() -> None:
    """Wait for the current engine's tasks, then stop it."""
    from eflows_kernel.engine import current_engine

    engine = current_engine()
    if engine is not None:
        try:
            engine.barrier()
        finally:
            engine.stop()
