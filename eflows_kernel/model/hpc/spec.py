"""What the HPC task decorators (@binary, @mpi, @container...) say about a task.

A task definition carries at most one :class:`HpcTask` (``definition.hpc``), built up
by the decorators stacked on it in any order. It is plain data: the engine reads its
shape (processes, nodes, cores) to reserve resources, the worker's launchers
(``eflows_kernel.engine.launch``) read it to build and run the command line.

Values PyCOMPSs lets users give as strings (``processes="4"``, ``"$NP"``,
``fail_by_exit_value="MY_FLAG"``) are kept as given and resolved when the task is
called or run, as PyCOMPSs does.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from eflows_kernel.model.exceptions import TaskArgumentError, TaskDefinitionError


class TaskKind(str, Enum):
    """PyCOMPSs' implementation types, in the lower case the task events use."""

    PYTHON = "python"  # a Python body (possibly in a container, with a prolog...)
    BINARY = "binary"
    MPI = "mpi"  # an MPI program
    PYTHON_MPI = "python_mpi"  # the Python body on every MPI rank (mpi4py)
    MPMD_MPI = "mpmd_mpi"
    MULTINODE = "multinode"


ENGINES = ("SINGULARITY", "APPTAINER", "DOCKER", "PODMAN", "UDOCKER", "CHARLIECLOUD")


@dataclass(frozen=True)
class ExecSpec:
    """A program run before or after the task (@prolog, @epilog)."""

    binary: str
    args: str | None = None
    fail_by_exit_value: bool | str = True


@dataclass(frozen=True)
class ContainerSpec:
    engine: str
    image: str
    options: str | None = None


@dataclass(frozen=True)
class MpiProgram:
    """One program of an @mpmd_mpi task."""

    binary: str
    args: str | None = None
    processes: int = 1


@dataclass(frozen=True)
class Layout:
    """``<param>_layout``: which elements of a collection each MPI rank receives."""

    block_count: int = -1
    block_length: int = -1
    stride: int = -1


@dataclass
class HpcTask:
    kind: TaskKind = TaskKind.PYTHON
    binary: str | None = None
    args: str | None = None  # "params" string with {{parameter}} references
    working_dir: str | None = None
    fail_by_exit_value: bool | str = True
    # MPI
    runner: str | None = None
    processes: int | str = 1
    processes_per_node: int | str | None = None
    scale_by_cu: bool = False
    flags: str | None = None
    layouts: dict[str, Layout] = field(default_factory=dict)
    programs: tuple[MpiProgram, ...] = ()
    # @multinode
    computing_nodes: int | str = 1
    # @compss: the nested application the program (runcompss, else eflows-run) runs
    nested_app: str | None = None
    container: ContainerSpec | None = None
    prolog: ExecSpec | None = None
    epilog: ExecSpec | None = None
    decorators: tuple[str, ...] = ()  # which ones set this up, for error messages
    refused: str | None = None  # @decaf, @http...: why calling the task is an error

    @property
    def runs_program(self) -> bool:
        return self.kind in (TaskKind.BINARY, TaskKind.MPI, TaskKind.MPMD_MPI)

    @property
    def is_mpi(self) -> bool:
        return self.kind in (TaskKind.MPI, TaskKind.PYTHON_MPI, TaskKind.MPMD_MPI)


def hpc_of(definition: Any) -> HpcTask:
    """The definition's HpcTask, created on first use."""
    spec = getattr(definition, "hpc", None)
    if spec is None:
        spec = HpcTask()
        definition.hpc = spec
    return spec


def set_kind(definition: Any, kind: TaskKind, decorator: str) -> HpcTask:
    spec = hpc_of(definition)
    if spec.kind is not TaskKind.PYTHON and spec.kind is not kind:
        raise TaskDefinitionError(
            f"task '{definition.name}': {decorator} cannot be combined with "
            f"{'/'.join(spec.decorators) or spec.kind.value} on one task; a task runs one "
            "kind of program")
    spec.kind = kind
    spec.decorators = (*spec.decorators, decorator)
    return spec


# -- values given as numbers, strings or environment variables -----------------------

_ENV = re.compile(r"^\$\{?(\w+)\}?$")


def resolve_int(value: int | str, what: str, task: str, minimum: int = 1) -> int:
    """``4``, ``"4"``, ``"$NP"`` or ``"${NP}"`` as an int (environment read now)."""
    raw: Any = value
    if isinstance(value, str):
        match = _ENV.match(value.strip())
        if match:
            raw = os.environ.get(match.group(1))
            if raw is None:
                raise TaskArgumentError(
                    f"task '{task}': {what}={value!r} names the environment variable "
                    f"{match.group(1)}, which is not set")
    try:
        number = int(str(raw).strip()) if not isinstance(raw, bool) else None
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise TaskArgumentError(f"task '{task}': {what}={value!r} must be a whole number "
                                f">= {minimum}")
    return number


def check_int(value: Any, what: str, task: str, minimum: int = 1,
              at_call: bool = False) -> int | str:
    """Validate now what can be validated; environment variables wait for the call.

    ``at_call``: a name or an expression (``computing_nodes="cn"``, a global of the
    task's module, or a parameter) is kept too, to be read at each call (hpc/dynamic.py).
    """
    if isinstance(value, str) and _ENV.match(value.strip()):
        return value.strip()
    if at_call and is_read_at_call(value):
        return value.strip()
    try:
        return resolve_int(value, what, task, minimum)
    except TaskArgumentError as exc:
        raise TaskDefinitionError(str(exc)) from None


def is_read_at_call(value: Any) -> bool:
    """A string naming a variable or holding an expression, not a number or $VAR."""
    if not isinstance(value, str) or not value.strip() or _ENV.match(value.strip()):
        return False
    text = value.strip()
    try:
        int(text)
        return False
    except ValueError:
        pass
    try:
        compile(text, "<size>", "eval")
    except SyntaxError:
        return False
    return True


def resolve_flag(value: bool | str | int) -> bool:
    """fail_by_exit_value: a bool, ``"true"``/``"false"``, or an environment variable
    holding one (PyCOMPSs' convention)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    text = str(value).strip()
    match = _ENV.match(text)
    if match:
        text = os.environ.get(match.group(1), "false")
    elif text.lower() not in ("true", "false", "1", "0", "yes", "no"):
        text = os.environ.get(text, "false")
    return text.strip().lower() in ("true", "1", "yes")


def check_flag(value: Any, what: str, task: str) -> bool | str:
    if isinstance(value, bool | str | int):
        return value
    raise TaskDefinitionError(f"task '{task}': {what}={value!r} must be a boolean or the "
                              "name of an environment variable holding one")


# -- without a runtime ---------------------------------------------------------------------
# A plain ``python app.py`` has no engine; PyCOMPSs then runs a binary or MPI task's
# program in place. The launchers belong to the engine, which registers them here when
# it is imported: the runner, the kernel and every worker import it, so a task called
# there without a running engine (a nested call inside a task) still finds them.

_IN_PLACE: Any = None


def set_in_place_runner(runner: Any) -> None:
    global _IN_PLACE
    _IN_PLACE = runner


def run_in_place(definition: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if _IN_PLACE is None:
        raise TaskDefinitionError(
            f"task '{definition.name}' runs a program ({definition.hpc.kind.value}), which "
            "needs the launchers of eflows_kernel.engine: run the application with "
            "eflows-run, start an engine (eflows_kernel.start()) or import "
            "eflows_kernel.engine first")
    return _IN_PLACE(definition, args, kwargs)
