"""``import pycompss.interactive as ipycompss``: ``ipycompss.start()`` / ``stop()`` in notebooks.

``start()`` starts an eflows_kernel engine for the notebook (local Dask workers, or
``EFLOWS_SCHEDULER``/``EFLOWS_WORKERS`` as in the eFlows kernel), unless one runs
already (the eFlows kernel starts its own), in which case it says so and returns, as
PyCOMPSs does when its runtime is running. It takes every keyword of PyCOMPSs'
``start``: ``graph`` shows the live task graph under each cell, ``wcl`` is a wall
clock limit, ``checkpoint_policy``/``checkpoint_params``/``checkpoint_folder``
checkpoint the tasks; options that need COMPSs' own runtime (persistent storage,
another task execution) are refused, the others have no effect. ``stop(sync=True)``
first replaces the notebook's variables holding task outputs by their values.
"""

from __future__ import annotations

from typing import Any

LINE = "*" * 56

# Keywords of PyCOMPSs' start() that change nothing here (see the module docstring).
_NO_EFFECT = (
    "log_level", "debug", "o_c", "trace", "monitor", "project_xml", "resources_xml",
    "summary", "streaming_backend", "streaming_master_name", "streaming_master_port",
    "task_count", "app_name", "log_dir", "master_working_dir", "extrae_cfg",
    "extrae_final_directory", "comm", "conn", "master_name", "master_port", "scheduler",
    "jvm_workers", "cpu_affinity", "gpu_affinity", "fpga_affinity", "fpga_reprogram",
    "profile_input", "profile_output", "scheduler_config", "external_adaptation",
    "propagate_virtual_environment", "worker_cache", "shutdown_in_node_failure",
    "io_executors", "env_script", "reuse_on_block", "nested_enabled",
    "tracing_task_dependencies", "trace_label", "extrae_cfg_python", "cache_profiler",
    "ear", "data_provenance", "verbose", "disable_external", "uuid", "mpi_worker",
)


def _engine() -> Any:
    from eflows_kernel.engine.current import current_engine

    return current_engine()


def _refuse(options: dict[str, Any]) -> None:
    if options.get("task_execution", "compss") != "compss":
        raise ValueError(f"task_execution={options['task_execution']!r}: tasks run on Dask "
                         "workers here; only 'compss' is available")
    for name in ("storage_impl", "storage_conf"):
        if options.get(name):
            raise ValueError(f"{name}: eflows_kernel has no persistent storage backend "
                             "(dataClay, Hecuba, Redis)")
    if options.get("mpi_worker"):
        raise ValueError("mpi_worker=True: Python workers are Dask workers, not MPI processes")


def start(graph: bool = False, wcl: int = 0, checkpoint_policy: str = "",
          checkpoint_params: str = "", checkpoint_folder: str = "",
          **options: Any) -> None:
    """Start the engine of this notebook (see the module docstring)."""
    unknown = sorted(set(options) - set(_NO_EFFECT) - {"task_execution", "storage_impl",
                                                       "storage_conf"})
    if unknown:
        raise TypeError(f"start() got unexpected keyword argument(s) {', '.join(unknown)}")
    _refuse(options)
    if _engine() is not None:
        print("The runtime is already running")
        return None
    import eflows_kernel
    from eflows_kernel.engine.checkpoint_policy import NONE, parse_checkpoint, policy_name
    from eflows_kernel.kernel.kernel import engine_options_from_env

    policy = checkpoint_policy if checkpoint_policy and \
        policy_name(checkpoint_policy) != NONE else ""
    checkpoint = parse_checkpoint(policy or None, checkpoint_params or None,
                                  checkpoint_folder or None)
    print(LINE)
    print("**************** PyCOMPSs Interactive ******************")
    print(LINE)
    print("* - Starting eflows_kernel engine (Dask)...             *")
    engine = eflows_kernel.start(live_graph=bool(graph), checkpoint=checkpoint,
                                 **engine_options_from_env())
    if wcl and wcl > 0:
        engine.set_wall_clock(float(wcl))
    print("* - PyCOMPSs Runtime started... Have fun!              *")
    print(LINE)
    return None


def _synchronise_user_namespace(shell: Any) -> None:
    from eflows_kernel.compat.pycompss.api.api import compss_wait_on
    from eflows_kernel.compat.pycompss.runtime.management.classes import Future

    engine = _engine()
    namespace = shell.user_ns
    reserved = ("quit", "exit", "get_ipython", "ipycompss", "In", "Out")
    for name in list(namespace):
        value = namespace[name]
        if name.startswith("_") or name in reserved:
            continue
        pending = isinstance(value, Future) or engine.objects.current(value) is not None \
            or (isinstance(value, list) and any(isinstance(v, Future) for v in value))
        if pending:
            print(f"Found an object to synchronize: {name}")
            namespace[name] = compss_wait_on(value)


def stop(sync: bool = False, _hard_stop: bool = False) -> None:
    """Wait for the tasks and stop the engine; ``sync`` fetches the notebook's outputs."""
    if _engine() is None:
        print("The runtime is not running.")
        return None
    import eflows_kernel

    print(LINE)
    print("***************** STOPPING PyCOMPSs ********************")
    print(LINE)
    shell = _ipython()
    if sync and not _hard_stop and shell is not None:
        print("Synchronizing all future objects left on the user scope.")
        _synchronise_user_namespace(shell)
    elif not sync:
        print("Warning: some of the variables used with PyCOMPSs may")
        print("         have not been brought to the master.")
    eflows_kernel.stop()
    print(LINE)
    return None


def _ipython() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return None
    return get_ipython()


def current_task_graph(fit: bool = False, refresh_rate: int = 1, timeout: int = 0,
                       widget: Any = None) -> Any:
    """The live task graph of the current run (a widget)."""
    import eflows_kernel

    if _engine() is None:
        print("Oops! The runtime is not running.")
        return None
    return eflows_kernel.live_view()


def complete_task_graph(fit: bool = False, refresh_rate: int = 1, timeout: int = 0,
                        widget: Any = None) -> Any:
    return current_task_graph(fit, refresh_rate, timeout, widget)


def _monitoring_note() -> None:
    print("The run's task states are in the live task graph (current_task_graph()) and "
          "in its event log.")


def tasks_info() -> None:
    _monitoring_note()


def tasks_status() -> None:
    _monitoring_note()


def statistics() -> None:
    _monitoring_note()


def resources_status() -> None:
    _monitoring_note()


def monitoring_information() -> None:
    _monitoring_note()
