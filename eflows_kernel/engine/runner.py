"""``eflows-run``: run an unmodified PyCOMPSs application on Dask.

Usage mirrors ``runcompss``: options first, then the application and its own
arguments, e.g. ``eflows-run --workers 4 --event-log run.jsonl wordcount.py data/``.
With ``--slurm-workers N`` the workers are Slurm jobs (scale-out, dask-jobqueue).
"""

from __future__ import annotations

import argparse
import os
import runpy
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from eflows_kernel.compat import install_pycompss_shim, real_pycompss_available
from eflows_kernel.engine.cluster import ClusterConfig
from eflows_kernel.engine.elastic import keep_the_application_out_of_new_workers
from eflows_kernel.engine.engine import Engine, EngineConfig
from eflows_kernel.engine.env_script import restart_in
from eflows_kernel.engine.runcompss_options import (
    RuncompssOptionError,
    add_runcompss_options,
    is_java_scheduler,
    normalise_argv,
    runcompss_settings,
)
from eflows_kernel.engine.script_app import run_script, script_shebang
from eflows_kernel.events.schema import RunState
from eflows_kernel.model.exceptions import COMPSsException, EngineError, TaskFailedError


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
    cluster.add_argument("--worker-resources", default=None, metavar="NAME=N[,NAME=N]",
                         help="more resources every worker declares, e.g. GPU=1 for tasks "
                              "with @constraint(processors=[{'processorType': 'GPU', "
                              "'computingUnits': 1}])")
    cluster.add_argument("--slurm-allocation", action="store_true",
                         help="inside a Slurm job: one worker per node of the job's "
                              "allocation (srun), holding all of each node's cores")
    cluster.add_argument("--allocation-dir", default=None, metavar="DIR",
                         help="with --slurm-allocation: the job started the nodes' workers "
                              "itself (python -m eflows_kernel.engine.allocation "
                              "--start-workers DIR -- ...: a step in a container image, "
                              "each worker in the image); they find the scheduler in DIR")
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
    add_runcompss_options(parser)
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


def parse_resources(text: str | None) -> dict[str, float]:
    """``GPU=1,FPGA=2`` as a dict; names are case-sensitive Dask resource names."""
    resources: dict[str, float] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        try:
            amount = float(value)
        except ValueError:
            amount = -1.0
        if not sep or not name.strip() or amount <= 0:
            raise ValueError(f"--worker-resources expects NAME=N with N > 0 (e.g. GPU=1), "
                             f"got {item.strip()!r}")
        resources[name.strip()] = amount
    return resources


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(normalise_argv(argv))
    try:
        slurm_options = _slurm_options(args)
        compss = runcompss_settings(args)
    except (ValueError, RuncompssOptionError) as exc:
        print(f"eflows-run: {exc}", file=sys.stderr)
        return 2
    if is_java_scheduler(args.scheduler):
        compss.notes.append(f"--scheduler={args.scheduler} has no effect here: Dask "
                            "schedules the tasks (--scheduler takes a Dask scheduler address)")
        args.scheduler = None
    if compss.env_script and compss.environment:
        # as runcompss: the application starts after the script, in what it set
        restart_in(compss.environment, compss.env_script, argv)
    for note in compss.notes:
        print(f"eflows-run: {note}", file=sys.stderr)
    try:
        worker_resources = parse_resources(args.worker_resources)
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
    if compss.execution_dir:  # before the workers start: their tasks run there too
        if args.event_log:  # ours, not the application's: where it was asked for
            args.event_log = os.path.abspath(args.event_log)
        os.chdir(compss.execution_dir)
    app_dir = os.path.dirname(app)
    sys.path.insert(0, app_dir)
    for path in reversed(compss.python_paths):
        sys.path.insert(1, path)
    config = EngineConfig(
        cluster=ClusterConfig(
            scheduler_address=args.scheduler, n_workers=args.workers,
            threads_per_worker=args.threads_per_worker, memory_limit=args.memory_limit,
            extra_paths=[app_dir, *compss.python_paths],
            pycompss_shim=not args.no_pycompss_shim,
            jobqueue="slurm" if args.slurm_workers else None,
            jobqueue_workers=args.slurm_workers or 1, jobqueue_options=slurm_options,
            min_workers=args.slurm_min_workers, jobqueue_wait=args.slurm_wait,
            worker_resources=worker_resources, slurm_allocation=args.slurm_allocation,
            allocation_dir=args.allocation_dir),
        run_id=args.run_id or compss.run_id, event_log=args.event_log,
        app=os.path.basename(app), first_seq=args.first_seq, checkpoint=compss.checkpoint)
    engine = Engine(config)
    try:
        engine.start()
    except EngineError as exc:
        print(f"eflows-run: {exc}", file=sys.stderr)
        engine.stop(RunState.FAILED.value, error=str(exc))
        return 1
    if compss.wall_clock_limit:
        engine.set_wall_clock(compss.wall_clock_limit)
    keep_the_application_out_of_new_workers()
    sys.argv = [app, *args.app_args]
    signal.signal(signal.SIGTERM, _terminated)
    code, error = _run_app(engine, app)
    clock = engine.wall_clock  # also set by compss_set_wall_clock() in the application
    if clock is not None and clock.expired:
        engine.stop(RunState.CANCELLED.value, error=clock.reason)
        return 0  # as runcompss: the run was stopped in a controlled way
    engine.stop(RunState.DONE.value if code == 0 else RunState.FAILED.value, error=error)
    return code


def _run_app(engine: Engine, app: str) -> tuple[int, str | None]:
    """Run the application's main program, then wait for its tasks: (exit code, error)."""
    shebang = script_shebang(app)
    if shebang is not None:  # a launcher script calling runcompss itself (script_app.py)
        try:
            code = run_script(app, sys.argv[1:], engine, shebang)
        except BaseException as exc:
            return _outcome(engine, app, exc)
        return code, (f"the application exited with status {code}" if code else None)
    try:
        runpy.run_path(app, init_globals=launcher_globals(), run_name="__main__")
        engine.barrier()  # like compss_stop: the run ends when its tasks have
    except BaseException as exc:
        if _expired(engine):
            return 0, None
        code, error = _outcome(engine, app, exc)
        if code != 0:
            return code, error
    try:
        engine.barrier()
    except BaseException as exc:
        if _expired(engine):
            return 0, None
        return _outcome(engine, app, exc)
    return 0, None


def launcher_globals() -> dict[str, Any]:
    """What the main program finds defined without importing it.

    PyCOMPSs' launcher runs the application with ``exec(..., globals())`` in its own
    module, which imports ``os``, ``sys``, ``logging`` and ``traceback``: applications
    (PyCOMPSs' own test programs among them) use ``sys`` without importing it.
    """
    import logging

    return {"os": os, "sys": sys, "logging": logging, "traceback": traceback}


def _expired(engine: Engine) -> bool:
    return engine.wall_clock is not None and engine.wall_clock.expired


def _outcome(engine: Engine, app: str, exc: BaseException) -> tuple[int, str | None]:
    """Exit code and error of a main program that raised ``exc`` (printed for the user)."""
    if isinstance(exc, TaskFailedError):
        print(f"eflows-run: {exc}", file=sys.stderr)
        return 1, str(exc)
    if isinstance(exc, COMPSsException):
        print(f"eflows-run: uncaught COMPSsException from a task group: {exc}",
              file=sys.stderr)
        return 1, f"COMPSsException: {exc}"
    if isinstance(exc, SystemExit):
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return code, (f"the application exited with status {exc.code}" if code else None)
    if isinstance(exc, KeyboardInterrupt):
        engine.stop(RunState.CANCELLED.value, error="interrupted")
        return 130, "interrupted"
    if isinstance(exc, Terminated):
        engine.stop(RunState.CANCELLED.value, error="cancelled (SIGTERM)")
        return 143, "cancelled (SIGTERM)"
    _print_app_traceback(exc, app)
    return 1, f"{type(exc).__name__}: {exc}"


class Terminated(BaseException):
    """The runner got SIGTERM (a cancel): the run stops as cancelled."""


def _terminated(signum: int, frame: Any) -> None:
    # Not SIGTERM's default (dying at once): the workers, signalled with us, end their
    # programs first, and a worker whose parent is gone exits before it can.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: a second one must not cut the stop
    raise Terminated()


def _print_app_traceback(exc: BaseException, app: str) -> None:
    """The application's traceback, without the runner's own frames above it."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != app:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb or exc.__traceback__)


if __name__ == "__main__":
    sys.exit(main())
