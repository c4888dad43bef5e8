"""The ``runcompss`` / ``enqueue_compss`` options PyCOMPSs users pass, for ``eflows-run``.

Each option is honoured, accepted with no effect (and a one-line note saying why), or
refused with a message saying what to use instead -- never silently ignored when
ignoring it would change the application's results. The table of all of them is in
``docs/programming-model.md``.
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field

from eflows_kernel.engine.checkpoint_policy import CheckpointConfig, parse_checkpoint
from eflows_kernel.engine.env_script import EnvScriptError, already_sourced, read_env_script

# Options with no effect here: option -> why.
NO_EFFECT: dict[str, str] = {
    "graph": "the run's task graph is in its events (--event-log) and in the notebook",
    "tracing": "no Extrae/Paraver traces; the events carry each task's start and end",
    "monitoring": "the run's events are its monitoring (--event-log)",
    "external_debugger": "no JVM here",
    "jmx_port": "no JVM here",
    "summary": "the last run event counts the tasks per state",
    "log_level": "asserts and __debug__ stay enabled at every level (runcompss turns them "
                 "off below debug)",
    "project": "resources are the Dask workers (--workers, --scheduler, --slurm-workers)",
    "resources": "resources are the Dask workers (--workers, --scheduler, --slurm-workers)",
    "extrae_config_file": "no tracing", "extrae_config_file_python": "no tracing",
    "trace_label": "no tracing", "tracing_task_dependencies": "no tracing",
    "generate_trace": "no tracing", "delete_trace_packages": "no tracing",
    "custom_threads": "no tracing",
    "comm": "Dask carries the data", "conn": "Dask carries the data",
    "streaming": "streams are always available", "streaming_master_name": "streams are "
    "served by the Dask scheduler", "streaming_master_port": "streams are served by the "
    "Dask scheduler",
    "scheduler_config_file": "Dask schedules the tasks",
    "library_path": "set LD_LIBRARY_PATH in the environment of the run",
    "log_dir": "logs are the run's events", "master_working_dir": "the master keeps "
    "no temporary files (where COMPSs puts them): task data goes through Dask; the "
    "application runs in the current directory (--job_execution_dir)",
    "master_name": "the Dask scheduler address is --scheduler",
    "master_port": "the Dask scheduler address is --scheduler",
    "jvm_master_opts": "no JVM here", "jvm_workers_opts": "no JVM here",
    "cpu_affinity": "Dask places the tasks", "gpu_affinity": "Dask places the tasks",
    "fpga_affinity": "Dask places the tasks", "fpga_reprogram": "no FPGA support",
    "io_executors": "I/O tasks run as ordinary tasks", "task_count": "no limit here",
    "input_profile": "no profiles", "output_profile": "no profiles",
    "PyObject_serialize": "objects are serialised with cloudpickle",
    "persistent_worker_c": "no C binding", "enable_external_adaptation": "no adaptation",
    "gen_coredump": "no JVM here", "keep_workingdir": "the workers make no sandbox to "
    "remove or keep: tasks run in the current directory",
    "python_interpreter": "workers run the Python that runs eflows-run",
    "python_propagate_virtual_environment": "workers always use this environment",
    "python_memory_profile": "no memory profile", "python_worker_cache": "no worker cache",
    "python_cache_profiler": "no worker cache", "cache_profiler": "no worker cache",
    "shutdown_in_node_failure": "a lost worker fails its tasks and the run goes on as "
    "their on_failure says",
    "reuse_on_block": "always", "nested_enabled": "a task calling tasks runs them in it",
    "ear": "no EAR", "provenance": "no RO-Crate provenance is written",
    "data_provenance": "no RO-Crate provenance is written",
    "disable_external": "no external process",
    "base_log_dir": "logs are the run's events", "specific_log_dir": "logs are the run's "
    "events", "worker_working_dir": "the workers make no sandbox: tasks run in the "
    "current directory (--job_execution_dir)",
    "worker_in_master_cpus": "the workers are --workers", "worker_in_master_memory":
    "the workers' memory is --memory-limit", "external_adaptation": "no adaptation",
}

# enqueue_compss options: they size a batch job, which eflows-run does not submit.
BATCH_ONLY = ("num_nodes", "exec_time", "queue", "qos", "reservation", "job_name",
              "cpus_per_node", "gpus_per_node", "fpgas_per_node", "node_memory",
              "network", "constraints",
              "job_dependency", "forward_cpus_per_node", "project_name", "licenses",
              "sc_cfg", "master_node",
              "max_tasks_per_node", "node_storage_bandwidth", "container_image",
              "container_compss_path", "container_opts", "container_cfg", "agents",
              "storage_home", "storage_props", "qos_name", "file_name", "cpu_time")

# Boolean flags written --flag or --flag=<bool>; short forms.
_FLAGS = {"graph": "-g", "tracing": "-t", "monitoring": "-m", "summary": None,
          "provenance": "-p", "gen_coredump": None, "keep_workingdir": None,
          "python_memory_profile": None}


@dataclass
class RuncompssSettings:
    """What the runcompss options of a command line change."""

    wall_clock_limit: float | None = None
    checkpoint: CheckpointConfig | None = None
    python_paths: list[str] = field(default_factory=list)
    # --env_script, when this runner has not been restarted in it yet: what it sets
    # (the runner then restarts with it, as runcompss starts the application after it)
    env_script: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    # --job_execution_dir: the application's current directory, as enqueue_compss runs the
    # job there (registry apps read ./data_2d/ of it: Pillar_I_non_intrusive)
    execution_dir: str | None = None
    run_id: str | None = None  # --uuid
    notes: list[str] = field(default_factory=list)  # one line per option with no effect


class RuncompssOptionError(ValueError):
    """A runcompss option that cannot be honoured here; the message says what to do."""


def add_runcompss_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "runcompss options",
        "The options of runcompss that PyCOMPSs users pass: --wall_clock_limit, "
        "--checkpoint* and --pythonpath/--appdir/--classpath/--env_script/--uuid/"
        "--job_execution_dir are honoured; others are accepted with no effect (a note "
        "says why) or refused with a message (see docs/programming-model.md)")
    group.add_argument("--wall_clock_limit", type=float, default=None, metavar="SECONDS",
                       help="stop the run after this many seconds (0: no limit)")
    group.add_argument("--checkpoint", "--checkpoint_policy", dest="checkpoint",
                       default=None, metavar="POLICY",
                       help="checkpoint policy (COMPSs class name or short name)")
    group.add_argument("--checkpoint_params", default=None, metavar="PARAMS",
                       help="e.g. finished.tasks:10, period.time:30s, "
                            "instantiated.group:5, avoid.checkpoint:[module.task]")
    group.add_argument("--checkpoint_folder", default=None, metavar="DIR",
                       help="where checkpoints are saved and read back by a rerun")
    for name in ("pythonpath", "appdir", "classpath"):
        group.add_argument(f"--{name}", default=None, help=argparse.SUPPRESS)
    group.add_argument("--env_script", default=None, help=argparse.SUPPRESS)
    group.add_argument("--job_execution_dir", default=None, help=argparse.SUPPRESS)
    group.add_argument("--uuid", default=None, help=argparse.SUPPRESS)
    group.add_argument("--lang", default=None, help=argparse.SUPPRESS)
    group.add_argument("--task_execution", default=None, help=argparse.SUPPRESS)
    group.add_argument("--storage_impl", default=None, help=argparse.SUPPRESS)
    group.add_argument("--storage_conf", default=None, help=argparse.SUPPRESS)
    group.add_argument("--python_mpi_worker", default=None, help=argparse.SUPPRESS)
    group.add_argument("--debug", "-d", dest="debug", action="store_true",
                       help=argparse.SUPPRESS)
    for name in NO_EFFECT:
        if name in ("log_level",):
            group.add_argument("--log_level", default=None, help=argparse.SUPPRESS)
            continue
        flags = [f"--{name}"]
        short = _FLAGS.get(name)
        if short:
            flags.append(short)
        group.add_argument(*flags, dest=f"rc_{name}", default=None, help=argparse.SUPPRESS)
    for name in BATCH_ONLY:
        group.add_argument(f"--{name}", dest=f"batch_{name}", default=None,
                           help=argparse.SUPPRESS)
    group.add_argument("--submitted-job", action="store_true",
                       help="this run is the batch job a deployer sized and submitted: the "
                            "enqueue_compss options (which size a job) are noted, not refused")


def normalise_argv(argv: list[str]) -> list[str]:
    """``-g``/``--graph`` (a runcompss flag without value) -> ``--graph=true``.

    Only before the application (the first ``.py`` or ``.sh`` argument), so the application's
    own arguments are left alone.
    """
    spellings = {f"--{name}": name for name in _FLAGS}
    spellings.update({short: name for name, short in _FLAGS.items() if short})
    spellings["--python_mpi_worker"] = "python_mpi_worker"
    out: list[str] = []
    for index, token in enumerate(argv):
        if token.endswith((".py", ".sh")) and not token.startswith("-"):
            return out + argv[index:]
        name = spellings.get(token)
        out.append(f"--{name}=true" if name else token)
    return out


def is_java_scheduler(value: str | None) -> bool:
    """``--scheduler=es.bsc.compss...TS`` is COMPSs' scheduler class, not a Dask address."""
    if not value or "://" in value or ":" in value or "/" in value:
        return False
    return bool(re.fullmatch(r"[a-zA-Z_][\w]*(\.[a-zA-Z_][\w]*)+", value)) and \
        value.rsplit(".", 1)[-1][:1].isupper()


def _false(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("false", "0", "no", "off", "")


def runcompss_settings(args: argparse.Namespace) -> RuncompssSettings:
    """Check the runcompss options of a parsed command line and say what they do."""
    settings = RuncompssSettings()
    batch = [name for name in BATCH_ONLY if getattr(args, f"batch_{name}") is not None]
    if batch and getattr(args, "submitted_job", False):
        settings.notes += [f"--{name} has no effect here: it sizes a batch job, and this run "
                           "is the step's job, sized from its num_nodes, qos and time_limit"
                           for name in batch]
    elif batch:
        raise RuncompssOptionError(
            f"--{batch[0]} is an enqueue_compss option (it sizes a batch job); eflows-run "
            "runs where it is started: place workers as Slurm jobs with --slurm-workers N "
            "(and --slurm-partition, --slurm-cores, --slurm-memory, --slurm-walltime), or "
            "submit this command with sbatch")
    if args.lang not in (None, "python"):
        raise RuncompssOptionError(f"--lang={args.lang}: eflows-run runs Python applications")
    if args.task_execution not in (None, "compss"):
        raise RuncompssOptionError(
            f"--task_execution={args.task_execution}: tasks run on Dask workers; there is "
            "no persistent storage execution")
    for name in ("storage_impl", "storage_conf"):
        if getattr(args, name):
            raise RuncompssOptionError(
                f"--{name}: eflows-run has no persistent storage backend (dataClay, "
                "Hecuba, Redis); objects travel between tasks through Dask")
    if args.python_mpi_worker is not None and not _false(args.python_mpi_worker):
        raise RuncompssOptionError("--python_mpi_worker: Python workers are Dask workers, "
                                   "not MPI processes")
    if args.wall_clock_limit is not None:
        if args.wall_clock_limit < 0:
            raise RuncompssOptionError("--wall_clock_limit must be a number of seconds >= 0")
        settings.wall_clock_limit = args.wall_clock_limit or None
    try:
        settings.checkpoint = parse_checkpoint(args.checkpoint, args.checkpoint_params,
                                               args.checkpoint_folder)
    except ValueError as exc:
        raise RuncompssOptionError(str(exc)) from None
    for name in ("pythonpath", "appdir", "classpath"):
        value = getattr(args, name)
        if value:
            settings.python_paths += [os.path.abspath(p) for p in value.split(":") if p]
    if args.env_script and not already_sourced(args.env_script):
        settings.env_script = args.env_script
        try:
            settings.environment = read_env_script(args.env_script)
        except EnvScriptError as error:
            raise RuncompssOptionError(str(error)) from None
    if args.job_execution_dir:  # made if missing: the job's outputs go there
        settings.execution_dir = os.path.abspath(args.job_execution_dir)
        try:
            os.makedirs(settings.execution_dir, exist_ok=True)
        except OSError as error:
            raise RuncompssOptionError(
                f"--job_execution_dir {args.job_execution_dir}: the job runs in it and it "
                f"cannot be made ({error.strerror})") from None
    settings.run_id = args.uuid
    if args.debug:
        settings.notes.append(f"--debug: {NO_EFFECT['log_level']}")
    if args.log_level is not None:
        settings.notes.append(f"--log_level: {NO_EFFECT['log_level']}")
    for name, why in NO_EFFECT.items():
        if name == "log_level":
            continue
        value = getattr(args, f"rc_{name}", None)
        if value is None or (name in _FLAGS and _false(value)):
            continue
        settings.notes.append(f"--{name} has no effect here: {why}")
    return settings
