"""``eflows-run``: run an unmodified PyCOMPSs application on Dask.

Usage mirrors ``runcompss``: options first, then the application and its own
arguments, e.g. ``eflows-run --workers 4 --event-log run.jsonl wordcount.py data/``.
With ``--slurm-workers N`` the workers are Slurm jobs (scale-out, dask-jobqueue).
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from eflows_kernel.compat import install_pycompss_shim, real_pycompss_available
from eflows_kernel.engine.cluster import ClusterConfig
from eflows_kernel.engine.engine import Engine, EngineConfig
from eflows_kernel.events.schema import RunState
from eflows_kernel.model.exceptions import COMPSsException, EngineError, TaskFailedError

# runcompss flags that may stand alone (``--debug``) or take a value (``--tracing=true``).
_RUNCOMPSS_FLAGS = ("--debug", "-d", "--graph", "-g", "--summary", "--tracing", "-t",
                    "--python_mpi_worker", "--keep_workingdir")


def _flags_with_values(argv: Sequence[str]) -> list[str]:
    """``--debug`` -> ``--debug=true`` (before the application only), so a flag never
    takes the application's path as its value."""
    out: list[str] = []
    for index, arg in enumerate(argv):
        if arg in _RUNCOMPSS_FLAGS:
            out.append(f"{arg}=true")
        elif not arg.startswith("-") and arg.endswith(".py"):
            return out + list(argv[index:])
        else:
            out.append(arg)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eflows-run",
        description="Run a PyCOMPSs application on Dask distributed (local cluster by "
                    "default), writing its task events.")
    cluster = parser.add_argument_group("cluster")
    cluster.add_argument("--workers", "-w", type=int, default=None,
                         help="local worker processes (default: one per core)")
    cluster.add_argument("--threads-per-worker", type=int, default=1,
                         help="threads (= cores offered to @constraint) per worker")
    cluster.add_argument("--memory-limit", default="auto",
                         help="memory per local worker, e.g. 2GB (default: shared equally)")
    cluster.add_argument("--scheduler", default=None, metavar="ADDRESS",
                         help="use an existing Dask scheduler instead of a local cluster")
    slurm = parser.add_argument_group(
        "scale-out on Slurm",
        "With --slurm-workers the scheduler runs in this process and each worker is a Slurm "
        "job (dask-jobqueue; sbatch must be on the PATH). The run starts once the workers "
        "are connected; their jobs are cancelled when it ends.")
    slurm.add_argument("--slurm-workers", type=int, default=None, metavar="N",
                       help="worker jobs to submit (instead of a local cluster)")
    slurm.add_argument("--slurm-partition", default=None, metavar="NAME",
                       help="partition of the worker jobs (default: Slurm's default)")
    slurm.add_argument("--slurm-account", default=None, metavar="NAME",
                       help="account charged for them")
    slurm.add_argument("--slurm-cores", type=int, default=None, metavar="N",
                       help="cores per worker job, shared as threads by its worker processes "
                            "(default 1)")
    slurm.add_argument("--slurm-memory", default=None, metavar="SIZE",
                       help="memory per worker job, e.g. 4GB (default 1GB)")
    slurm.add_argument("--slurm-walltime", default=None, metavar="HH:MM:SS",
                       help="time limit of each worker job (default 00:30:00)")
    slurm.add_argument("--slurm-min-workers", type=int, default=None, metavar="N",
                       help="workers that must be connected before the run starts "
                            "(default: all)")
    slurm.add_argument("--slurm-wait", type=float, default=300.0, metavar="SECONDS",
                       help="how long to wait for them before failing (default 300)")
    slurm.add_argument("--slurm-directive", action="append", default=[], metavar="DIRECTIVE",
                       help="extra #SBATCH directive, e.g. --slurm-directive=--gres=gpu:1 "
                            "(repeatable)")
    slurm.add_argument("--slurm-option", action="append", default=[], metavar="KEY=VALUE",
                       help="any other dask-jobqueue SLURMCluster option, e.g. "
                            "processes=2, python=/path/to/python, host=10.0.0.5 (the "
                            "address workers reach the scheduler at), interface=ib0, "
                            "local_directory=/scratch, log_directory=logs (repeatable)")
    run = parser.add_argument_group("run")
    run.add_argument("--event-log", default=None, metavar="PATH",
                     help="append the run's task events to this JSON-lines file")
    run.add_argument("--run-id", default=None, help="identifier of the run in its events")
    run.add_argument("--first-seq", type=int, default=1, metavar="N",
                     help="sequence number of the run's first event (a deployment numbers "
                          "its own staging events before it)")
    run.add_argument("--no-pycompss-shim", action="store_true",
                     help="do not serve pycompss.* imports (the real PyCOMPSs is never "
                          "shadowed anyway)")
    compss = parser.add_argument_group(
        "runcompss options",
        "Options of PyCOMPSs' runcompss that applications are launched with. "
        "--pythonpath is honoured; the others configure the COMPSs runtime (its "
        "logs, tracing, XML resources, JVM) and are accepted without effect here.")
    compss.add_argument("--pythonpath", default=None, metavar="PATHS",
                        help="extra import paths, ':'-separated, for the application and "
                             "every worker")
    compss.add_argument("--lang", default="python", choices=["python"],
                        help="only Python applications run here")
    for flag in _RUNCOMPSS_FLAGS:
        compss.add_argument(flag, default=None, help=argparse.SUPPRESS)
    for option in ("--project", "--resources", "--comm", "--python_interpreter",
                   "--specific_log_dir", "--base_log_dir", "--log_dir", "--log_level",
                   "--master_name", "--master_port", "--classpath", "--library_path",
                   "--appdir", "--conn", "--scheduler_config_file", "--env_script",
                   "--streaming", "--task_execution", "--storage_conf", "--storage_impl",
                   "--persistent_worker_c", "--cpu_affinity", "--gpu_affinity",
                   "--worker_working_dir", "--master_working_dir", "--uuid",
                   "--python_propagate_virtual_environment", "--python_worker_cache",
                   "--python_memory_profile", "--python_cache_profiler", "--monitoring",
                   "-m", "--external_adaptation", "--input_profile", "--output_profile",
                   "--trace_label", "--tracing_task_dependencies",
                   "--enable_external_adaptation", "--jvm_workers_opts",
                   "--jvm_master_opts"):
        compss.add_argument(option, default=None, help=argparse.SUPPRESS)
    parser.add_argument("app", help="the PyCOMPSs application (a .py file)")
    parser.add_argument("app_args", nargs=argparse.REMAINDER,
                        help="arguments given to the application")
    return parser


def _slurm_options(args: argparse.Namespace) -> dict[str, Any]:
    """The SLURMCluster options of the command line (``--slurm-option`` first, so the
    specific flags win)."""
    options: dict[str, Any] = {}
    for item in args.slurm_option:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--slurm-option expects KEY=VALUE, got {item!r}")
        options[key.strip()] = int(value) if value.strip().isdigit() else value
    for key, value in (("queue", args.slurm_partition), ("account", args.slurm_account),
                       ("cores", args.slurm_cores), ("memory", args.slurm_memory),
                       ("walltime", args.slurm_walltime)):
        if value is not None:
            options[key] = value
    if args.slurm_directive:
        options["job_extra_directives"] = list(args.slurm_directive)
    return options


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(_flags_with_values(sys.argv[1:] if argv is None
                                                        else argv))
    try:
        slurm_options = _slurm_options(args)
    except ValueError as exc:
        print(f"eflows-run: {exc}", file=sys.stderr)
        return 2
    app = os.path.abspath(args.app)
    if not os.path.isfile(app):
        print(f"eflows-run: application file not found: {args.app}", file=sys.stderr)
        return 2
    if not args.no_pycompss_shim and not install_pycompss_shim() and real_pycompss_available():
        print("eflows-run: the real PyCOMPSs is installed; its modules are used as they are "
              "(use runcompss to run on the COMPSs runtime)", file=sys.stderr)
    app_dir = os.path.dirname(app)
    extra_paths = [app_dir] + [os.path.abspath(p) for p in
                               (args.pythonpath or "").split(os.pathsep) if p]
    for path in reversed(extra_paths):
        sys.path.insert(0, path)
    config = EngineConfig(
        cluster=ClusterConfig(
            scheduler_address=args.scheduler, n_workers=args.workers,
            threads_per_worker=args.threads_per_worker, memory_limit=args.memory_limit,
            extra_paths=extra_paths, pycompss_shim=not args.no_pycompss_shim,
            jobqueue="slurm" if args.slurm_workers else None,
            jobqueue_workers=args.slurm_workers or 1, jobqueue_options=slurm_options,
            min_workers=args.slurm_min_workers, jobqueue_wait=args.slurm_wait),
        run_id=args.run_id, event_log=args.event_log, app=os.path.basename(app),
        first_seq=args.first_seq)
    engine = Engine(config)
    try:
        engine.start()
    except EngineError as exc:
        print(f"eflows-run: {exc}", file=sys.stderr)
        engine.stop(RunState.FAILED.value, error=str(exc))
        return 1
    sys.argv = [app, *args.app_args]
    code, error = 0, None
    try:
        runpy.run_path(app, run_name="__main__")
        engine.barrier()  # like compss_stop: the run ends when its tasks have
    except TaskFailedError as exc:
        code, error = 1, str(exc)
        print(f"eflows-run: {exc}", file=sys.stderr)
    except COMPSsException as exc:
        code, error = 1, f"COMPSsException: {exc}"
        print(f"eflows-run: uncaught COMPSsException from a task group: {exc}",
              file=sys.stderr)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if code:
            error = f"the application exited with status {exc.code}"
    except KeyboardInterrupt:
        code, error = 130, "interrupted"
        engine.stop(RunState.CANCELLED.value, error=error)
    except BaseException as exc:
        code, error = 1, f"{type(exc).__name__}: {exc}"
        _print_app_traceback(exc, app)
    if code == 0:
        try:
            engine.barrier()
        except TaskFailedError as exc:
            code, error = 1, str(exc)
            print(f"eflows-run: {exc}", file=sys.stderr)
    engine.stop(RunState.DONE.value if code == 0 else RunState.FAILED.value, error=error)
    return code


def _print_app_traceback(exc: BaseException, app: str) -> None:
    """The application's traceback, without the runner's own frames above it."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != app:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb or exc.__traceback__)


if __name__ == "__main__":
    sys.exit(main())
