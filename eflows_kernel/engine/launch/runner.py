"""Runs one attempt of an HPC task on its worker: prolog, the program or body, epilog.

Called by the worker (``engine/worker.py``) instead of the task's Python body when
the definition carries an :class:`~eflows_kernel.model.hpc.spec.HpcTask`, with the
nodes the task holds (``nodes.py``). What ran is recorded in ``details`` (command
line, exit value), which the worker adds to the task's events.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle

from eflows_kernel.engine.launch import containers, mpi
from eflows_kernel.engine.launch.arguments import (
    named_parameters,
    program_arguments,
)
from eflows_kernel.engine.launch.mpi import Node, Program
from eflows_kernel.engine.launch.nodes import node_name
from eflows_kernel.engine.launch.process import ProcessResult, Redirects, run_process
from eflows_kernel.model.exceptions import EngineError
from eflows_kernel.model.hpc.shape import TaskShape, task_shape
from eflows_kernel.model.hpc.spec import ExecSpec, HpcTask, TaskKind, resolve_flag

CHILD_MAIN = str(Path(__file__).with_name("child_main.py"))


class ProgramFailed(RuntimeError):
    """A program the task ran ended with a non-zero exit value (fail_by_exit_value)."""


class Attempt:
    """Everything one attempt needs, worked out once."""

    def __init__(self, definition: Any, wire: Any, args: list[Any], kwargs: dict[str, Any],
                 nodes: list[Node] | None, details: dict[str, Any]) -> None:
        self.definition = definition
        self.spec: HpcTask = definition.hpc
        self.wire = wire
        self.name = wire.name if wire is not None else definition.name
        self.args, self.kwargs = args, kwargs
        self.details = details
        plan = getattr(wire, "hpc", None)
        self.shape: TaskShape = plan.shape if plan is not None else task_shape(
            self.spec, definition.options.computing_units, self.name)
        self.nodes = nodes or [Node(node_name(), self.shape.processes, self.shape.cores)]
        self.time_out = getattr(wire, "time_out", None) or definition.options.time_out
        self.parameters = program_arguments(named_parameters(definition, args, kwargs))
        self.env = self._environment()

    # -- environment and places ---------------------------------------------------------
    def _environment(self) -> dict[str, str]:
        """The worker's environment plus what COMPSs exports to a task."""
        env = dict(os.environ)
        hosts = [node.host for node in self.nodes]
        env["COMPSS_NUM_NODES"] = str(len(self.nodes))
        if self.spec.kind in (TaskKind.PYTHON, TaskKind.MULTINODE):
            # PyCOMPSs' Python worker: one name per node the task holds.
            env["COMPSS_HOSTNAMES"] = ",".join(hosts)
        else:  # COMPSs' program invokers: a name per core, what a hostfile lists
            env["COMPSS_HOSTNAMES"] = ",".join(
                node.host for node in self.nodes for _ in range(max(1, node.cores)))
        env["COMPSS_NODES"] = ",".join(dict.fromkeys(hosts))
        env["COMPSS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = str(self.shape.threads)
        env["COMPSS_NUM_PROCS"] = str(self.shape.processes)
        return env

    @property
    def spans_hosts(self) -> bool:
        return len({node.host for node in self.nodes}) > 1

    @contextlib.contextmanager
    def sandbox(self) -> Iterator[Path]:
        """A fresh directory for the attempt (srun's placement, payload, default working dir),
        on the shared file system when the task spans several hosts; removed after."""
        root = os.environ.get("EFLOWS_SANDBOX_DIR") or (
            os.path.join(os.getcwd(), ".eflows-sandbox") if self.spans_hosts
            else tempfile.gettempdir())
        os.makedirs(root, exist_ok=True)
        tag = f"{getattr(self.wire, 'run', 'local')}-{getattr(self.wire, 'task', 0)}"
        # Unique and the user's own (mode 700), wherever several users share the root.
        path = Path(tempfile.mkdtemp(prefix=f"eflows-{tag}-", dir=root))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def working_dir(self, sandbox: Path) -> str:
        if not self.spec.working_dir:
            return str(sandbox)
        text = os.path.expanduser(os.path.expandvars(
            self.parameters.substitute(self.spec.working_dir)))
        path = os.path.abspath(text)
        os.makedirs(path, exist_ok=True)
        return path

    # -- running ---------------------------------------------------------------------
    def run(self) -> Any:
        with self.sandbox() as sandbox:
            cwd = self.working_dir(sandbox)
            if self.spec.prolog is not None:
                self._exec(self.spec.prolog, cwd, "prolog")
            kind = self.spec.kind
            if kind in (TaskKind.BINARY, TaskKind.MPI, TaskKind.MPMD_MPI):
                value: Any = self._program(cwd, sandbox)
            else:
                value = self._python(cwd, sandbox)
            if self.spec.epilog is not None:
                self._exec(self.spec.epilog, cwd, "epilog")
        return value

    def _exec(self, spec: ExecSpec, cwd: str, what: str) -> None:
        argv = [os.path.expandvars(spec.binary), *self.parameters.expand(spec.args or "")]
        result = run_process(argv, cwd=cwd, env=dict(self.env), time_out=self.time_out,
                             name=self.name)
        self.details.setdefault("command", argv)
        if result.exit_value and resolve_flag(spec.fail_by_exit_value):
            raise ProgramFailed(_failure(f"the {what} of task '{self.name}'", argv, result))

    def _program(self, cwd: str, sandbox: Path) -> Any:
        spec = self.spec
        env = dict(self.env)
        if spec.kind is TaskKind.MPMD_MPI:
            programs = [Program(tuple(self._in_container(
                [os.path.expandvars(p.binary), *self.parameters.expand(p.args or "")],
                cwd, env)), p.processes) for p in spec.programs]
        else:
            if spec.nested_app is not None:  # @compss
                argv = [*nested_runtime(spec.binary, env),
                        *shlex.split(os.path.expandvars(spec.flags or "")),
                        os.path.expandvars(spec.nested_app),
                        *self.parameters.expand(spec.args)]
            else:
                argv = [os.path.expandvars(spec.binary or ""),
                        *self.parameters.expand(spec.args)]
            programs = [Program(tuple(self._in_container(argv, cwd, env)),
                                self.shape.processes)]
        if spec.kind is TaskKind.BINARY:
            command = list(programs[0].argv)
        else:
            command = mpi.launch_command(
                os.path.expandvars(spec.runner or "mpirun"), self._flags(), self.nodes,
                programs, self.shape.threads, sandbox, env)
        result = self._run(command, cwd, env, self.parameters.redirects)
        if result.exit_value and resolve_flag(spec.fail_by_exit_value):
            raise ProgramFailed(_failure(f"task '{self.name}'", command, result))
        return self._returns(result.exit_value)

    def _flags(self) -> list[str]:
        if not self.spec.flags:
            return []
        return shlex.split(os.path.expandvars(self.parameters.substitute(self.spec.flags)))

    def _run(self, command: list[str], cwd: str, env: dict[str, str],
             redirects: Redirects | None = None) -> ProcessResult:
        self.details["command"] = command
        result = run_process(command, cwd=cwd, env=env, redirects=redirects,
                             time_out=self.time_out, name=self.name)
        self.details["exit_value"] = result.exit_value
        return result

    def _returns(self, exit_value: int) -> Any:
        count = getattr(self.wire, "n_returns", self.definition.options.returns)
        if not count:
            return None
        return exit_value if count == 1 else tuple([exit_value] * count)

    def _in_container(self, argv: list[str], cwd: str, env: dict[str, str],
                      python: bool = False) -> list[str]:
        container = self.spec.container
        if container is None:
            return argv
        image = os.path.expanduser(os.path.expandvars(container.image))
        spec = type(container)(container.engine, image, container.options)
        options = shlex.split(self.parameters.substitute(container.options or ""))
        binds = [cwd, *self._file_dirs(), *(_host_paths() if python else ())]
        passed = [name for name in env if name.startswith("COMPSS_")] + [
            "OMP_NUM_THREADS", "EFLOWS_HOST_PATHS"]
        return containers.container_command(
            spec, argv, cwd=cwd, binds=binds, env=env, passed=passed, options=options,
            executable=containers.engine_executable(container.engine, env))

    def _file_dirs(self) -> list[str]:
        """Directories of the task's file parameters, bound into its container."""
        dirs = []
        for _, value, spec in named_parameters(self.definition, self.args, self.kwargs):
            if getattr(spec, "is_path", False) and isinstance(value, str):
                dirs.append(value if os.path.isdir(value) else os.path.dirname(value))
        return dirs

    # -- Python bodies in processes of their own -------------------------------------
    def _python(self, cwd: str, sandbox: Path) -> Any:
        spec = self.spec
        payload = sandbox / "payload.pkl"
        updates = [(kind, key) for kind, key, _, _ in getattr(self.wire, "updates", ())]
        layouts = self._layouts() if spec.kind is TaskKind.PYTHON_MPI else {}
        mode = "mpi" if spec.kind is TaskKind.PYTHON_MPI else "call"
        payload.write_bytes(cloudpickle.dumps({
            "mode": mode, "func": self.definition.func, "args": self.args,
            "kwargs": self.kwargs, "updates": updates, "layouts": layouts}))
        env = dict(self.env)
        env.pop("PYTHONPATH", None)
        paths = _host_paths()
        python = "python3"
        if spec.container is None:
            env["PYTHONPATH"] = os.pathsep.join(paths)
            python = sys.executable
        else:
            env["EFLOWS_HOST_PATHS"] = os.pathsep.join(paths)
        argv = self._in_container([python, CHILD_MAIN, str(payload)], os.getcwd(), env,
                                  python=True)
        workdir = os.getcwd()
        if mode == "mpi":
            command = mpi.launch_command(
                os.path.expandvars(spec.runner or "mpirun"), self._flags(), self.nodes,
                [Program(tuple(argv), self.shape.processes)], self.shape.threads, sandbox,
                env)
        else:
            if mpi.in_slurm_allocation(env):  # @multinode bodies may srun on their nodes
                env.update(mpi.slurm_view(self.nodes, self.shape.processes, env))
            command = argv
        result = self._run(command, workdir, env)
        outcomes = self._outcomes(payload, result, mode)
        first = outcomes[0]
        for key, value in first[2].items():  # INOUT objects: rank 0's version
            kind, _, name = key.partition(":")
            if kind == "a":
                self.args[int(name)] = value
            else:
                self.kwargs[name] = value
        values = [outcome[1] for outcome in outcomes]
        if mode == "call":
            return values[0]
        count = getattr(self.wire, "n_returns", self.definition.options.returns)
        if count > 1 and count == len(values):
            return tuple(values)  # returns=<ranks>: one output per rank, as PyCOMPSs
        return values  # the list of the ranks' results

    def _layouts(self) -> dict[tuple[str, Any], tuple[int, int, int]]:
        positions: dict[str, tuple[str, Any]] = {}
        index = 0
        for name, param in self.definition.signature.parameters.items():
            if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
                positions[name] = ("a", index)
                index += 1
            elif param.kind is param.KEYWORD_ONLY:
                positions[name] = ("k", name)
        return {positions[name]: (layout.block_count, layout.block_length, layout.stride)
                for name, layout in self.spec.layouts.items() if name in positions}

    def _outcomes(self, payload: Path, result: ProcessResult, mode: str) -> list[Any]:
        paths = ([Path(str(payload) + ".result")] if mode == "call" else
                 [Path(f"{payload}.result.{rank}") for rank in range(self.shape.processes)])
        outcomes = []
        for rank, path in enumerate(paths):
            if not path.exists():
                who = "the task's process" if mode == "call" else f"MPI rank {rank}"
                raise ProgramFailed(_failure(f"{who} of task '{self.name}' gave no result;",
                                             self.details["command"], result))
            outcome = cloudpickle.loads(path.read_bytes())
            if not outcome[0]:
                exc = outcome[1]
                where = "" if mode == "call" else f" on MPI rank {rank}"
                raise ProgramFailed(f"task '{self.name}' raised {type(exc).__name__}{where}:"
                                    f"\n{outcome[3].rstrip() or exc}")
            outcomes.append(outcome)
        return outcomes


def _failure(what: str, command: list[str], result: ProcessResult) -> str:
    text = (f"{what} exited with value {result.exit_value}: "
            f"{' '.join(shlex.quote(a) for a in command)}")
    if result.stderr_tail:
        text += f"\nits standard error ends with:\n{result.stderr_tail}"
    return text


def _host_paths() -> list[str]:
    """This worker's Python paths but the standard library's (a child, or a container's
    own Python, finds the application and eflows_kernel there)."""
    stdlib = {os.path.realpath(sysconfig.get_paths()[key]) for key in ("stdlib", "platstdlib")}
    out = []
    for path in sys.path:
        if not path or not os.path.isdir(path):
            continue
        real = os.path.realpath(path)
        if real in stdlib or real.endswith("lib-dynload"):
            continue
        out.append(path)
    return out


def run_hpc_task(definition: Any, wire: Any, args: list[Any], kwargs: dict[str, Any],
                 nodes: list[Node] | None, details: dict[str, Any]) -> Any:
    """The worker's entry point for one attempt of an HPC task."""
    spec = definition.hpc
    if (spec.kind in (TaskKind.BINARY, TaskKind.MPI) and not spec.binary
            and spec.nested_app is None):
        raise EngineError(f"task '{definition.name}' has no binary to run")
    return Attempt(definition, wire, args, kwargs, nodes, details).run()


def run_without_engine(definition: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A call with no engine running (plain ``python app.py``), as PyCOMPSs runs a
    binary or MPI task without its runtime: the program runs here, now."""
    bound = definition.signature.bind(*args, **kwargs)
    bound.apply_defaults()
    call_args = list(bound.args)
    call_kwargs = dict(bound.kwargs)
    for name, param in definition.signature.parameters.items():
        spec = definition.param_specs.get(name)
        if spec is not None and spec.is_path and name in bound.arguments and (
                param.kind is not param.VAR_POSITIONAL):
            value = bound.arguments[name]
            if isinstance(value, str | os.PathLike):
                if param.kind is param.KEYWORD_ONLY:
                    call_kwargs[name] = os.path.abspath(value)
                else:
                    call_args[list(definition.signature.parameters).index(name)] = (
                        os.path.abspath(value))
    return Attempt(definition, None, call_args, call_kwargs, None, {}).run()


def nested_runtime(runcompss: str | None, env: dict[str, str]) -> list[str]:
    """The command an @compss task runs its application with: the ``runcompss`` it
    names when that is installed, else this runtime (``python -m eflows_kernel``, what
    ``eflows-run`` runs), which takes runcompss' options."""
    given = os.path.expanduser(os.path.expandvars(runcompss or "")).strip()
    if given and "$" not in given:
        words = shlex.split(given)
        if shutil.which(words[0], path=env.get("PATH")) or os.path.isfile(words[0]):
            return words
        if os.path.basename(words[0]) != "runcompss":
            raise EngineError(f"@compss: runcompss={runcompss!r} is not a program here "
                              "(leave it unset to run the application with eflows-run)")
    return [sys.executable, "-m", "eflows_kernel"]
