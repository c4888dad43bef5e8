"""PyCOMPSs' HPC task decorators: @binary, @ompss, @mpi, @mpmd_mpi, @multinode,
@container, @prolog, @epilog and @compss (a nested application), with PyCOMPSs'
parameters (``pycompss/api/*.py``); @decaf, @opencl, @julia and @http are accepted on
a definition and refused when the task is called.

They go above ``@task`` (and under ``@constraint``), in any order among themselves,
and only record what they were told on the definition (``definition.hpc``); the
engine and the worker's launchers act on it. Unknown parameters are refused with the
list of the supported ones, as PyCOMPSs' argument check does.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

from eflows_kernel.model.exceptions import TaskDefinitionError
from eflows_kernel.model.hpc.spec import (
    ENGINES,
    ContainerSpec,
    ExecSpec,
    Layout,
    MpiProgram,
    TaskKind,
    check_flag,
    check_int,
    hpc_of,
    set_kind,
)
from eflows_kernel.model.task import apply_to_definition

Apply = Callable[[Any], None]


def _checked(decorator: str, kwargs: dict[str, Any], supported: Iterable[str],
             mandatory: Iterable[str] = (), legacy: dict[str, str] | None = None,
             extra: Callable[[str], bool] = lambda key: False) -> dict[str, Any]:
    """The decorator's arguments under their current names; unknown ones refused."""
    legacy = legacy or {}
    supported = set(supported)
    options: dict[str, Any] = {}
    for key, value in kwargs.items():
        name = legacy.get(key, key)
        if name not in supported and not extra(name):
            raise TaskDefinitionError(
                f"{decorator}: unknown parameter {key!r}; supported: "
                f"{', '.join(sorted(supported | set(legacy)))}")
        options[name] = value
    missing = [key for key in mandatory if key not in options]
    if missing:
        raise TaskDefinitionError(f"{decorator}: missing mandatory parameter(s) "
                                  f"{', '.join(missing)}")
    return options


def _warn_legacy(label: str, kwargs: dict[str, Any], legacy: dict[str, str]) -> None:
    """As PyCOMPSs: an older camelCase argument name still works, with a warning (said
    at the application's decorator line)."""
    for key in kwargs:
        if key in legacy:
            warnings.warn(f"{label}: deprecated parameter {key!r}, use {legacy[key]!r}",
                          UserWarning, stacklevel=3)


def _decorator(apply: Apply) -> Callable[[Any], Any]:
    return lambda target: apply_to_definition(target, apply)


def _text(value: Any, what: str, decorator: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise TaskDefinitionError(f"{decorator}: {what}={value!r} must be a string")
    return str(value)


_PROGRAM = {"binary", "working_dir", "args", "fail_by_exit_value"}
_LEGACY = {"workingDir": "working_dir", "params": "args"}


def binary(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    """``@binary(binary="grep", working_dir=".", args="-i {{word}} {{f}}",
    fail_by_exit_value=True)``: the task runs the program; its parameters are the
    program's arguments in order (or the ``args`` template), its return value is the
    exit value."""
    _no_positional("@binary", args)
    options = _checked("@binary", kwargs, _PROGRAM | {"engine", "image"}, ("binary",),
                       _LEGACY)

    def apply(definition: Any) -> None:
        spec = set_kind(definition, TaskKind.BINARY, "@binary")
        _program(spec, options, "@binary", definition.name)
        if options.get("engine") or options.get("image"):  # deprecated spelling
            spec.container = _container_spec(options.get("engine", "DOCKER"),
                                             options.get("image"), None, "@binary")

    return _decorator(apply)


def ompss(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    """``@ompss(binary="app.bin", working_dir=..., fail_by_exit_value=...)``: an OmpSs
    executable, run as a @binary program (COMPSs' OmpSs invoker runs it so too)."""
    _no_positional("@ompss", args)
    options = _checked("@ompss", kwargs, {"binary", "working_dir", "fail_by_exit_value"},
                       ("binary",), {"workingDir": "working_dir"})

    def apply(definition: Any) -> None:
        spec = set_kind(definition, TaskKind.BINARY, "@ompss")
        _program(spec, options, "@ompss", definition.name)

    return _decorator(apply)


def _program(spec: Any, options: dict[str, Any], decorator: str, task: str) -> None:
    spec.binary = _text(options.get("binary"), "binary", decorator) or spec.binary
    spec.working_dir = _text(options.get("working_dir"), "working_dir", decorator)
    spec.args = _text(options.get("args"), "args", decorator)
    if "fail_by_exit_value" in options:
        spec.fail_by_exit_value = check_flag(options["fail_by_exit_value"],
                                             "fail_by_exit_value", task)


def mpi(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    """``@mpi(binary=..., runner="mpirun", processes=4, processes_per_node=2,
    scale_by_cu=False, flags="...", working_dir=..., args=..., fail_by_exit_value=...,
    <param>_layout={...})``. Without ``binary`` the task's Python body runs on every
    rank (mpi4py) and the task returns the list of the ranks' results."""
    _no_positional("@mpi", args)
    options = _checked(
        "@mpi", kwargs,
        _PROGRAM | {"runner", "processes", "processes_per_node", "scale_by_cu", "flags"},
        ("runner",),  # as PyCOMPSs' @mpi
        legacy={**_LEGACY, "computing_nodes": "processes", "computingNodes": "processes"},
        extra=lambda key: key.endswith("_layout"))

    def apply(definition: Any) -> None:
        name = definition.name
        kind = TaskKind.MPI if options.get("binary") else TaskKind.PYTHON_MPI
        spec = set_kind(definition, kind, "@mpi")
        _program(spec, options, "@mpi", name)
        spec.runner = _text(options.get("runner"), "runner", "@mpi") or "mpirun"
        spec.processes = check_int(options.get("processes", 1), "processes", name,
                                   at_call=True)
        if options.get("processes_per_node") is not None:
            spec.processes_per_node = check_int(options["processes_per_node"],
                                                "processes_per_node", name)
        spec.scale_by_cu = _bool(options.get("scale_by_cu", False), "scale_by_cu", name)
        spec.flags = _text(options.get("flags"), "flags", "@mpi")
        spec.layouts = {key[: -len("_layout")]: _layout(value, key, name)
                        for key, value in options.items() if key.endswith("_layout")}
        if spec.layouts and kind is TaskKind.MPI:
            raise TaskDefinitionError(f"task '{name}': @mpi collection layouts "
                                      f"({', '.join(spec.layouts)}) are for Python MPI "
                                      "tasks (no binary)")
        params = definition.signature.parameters
        for param in spec.layouts:
            if param not in params:
                raise TaskDefinitionError(f"task '{name}': @mpi {param}_layout names no "
                                          f"parameter of {name}()")

    return _decorator(apply)


def _bool(value: Any, what: str, task: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in ("true", "false"):
        return str(value).strip().lower() == "true"
    raise TaskDefinitionError(f"task '{task}': {what}={value!r} must be True or False")


def _layout(value: Any, key: str, task: str) -> Layout:
    if not isinstance(value, dict):
        raise TaskDefinitionError(f"task '{task}': @mpi {key}={value!r} must be a dict "
                                  "of block_count, block_length and stride")
    unknown = set(value) - {"block_count", "block_length", "stride"}
    if unknown:
        raise TaskDefinitionError(f"task '{task}': @mpi {key} has unknown keys "
                                  f"{sorted(unknown)}; use block_count, block_length, stride")
    numbers = {k: int(v) for k, v in value.items()}
    if "block_count" not in numbers:
        raise TaskDefinitionError(f"task '{task}': @mpi {key} must contain block_count")
    return Layout(**numbers)


def mpmd_mpi(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    """``@mpmd_mpi(runner="mpirun", programs=[dict(binary="a", processes=2,
    args="-x {{p}}"), ...], working_dir=..., processes_per_node=...,
    fail_by_exit_value=...)``: one MPI launch of several programs."""
    _no_positional("@mpmd_mpi", args)
    options = _checked("@mpmd_mpi", kwargs, {"runner", "programs", "working_dir",
                                            "processes_per_node", "fail_by_exit_value"},
                       ("runner",), {"workingDir": "working_dir"})

    def apply(definition: Any) -> None:
        name = definition.name
        spec = set_kind(definition, TaskKind.MPMD_MPI, "@mpmd_mpi")
        spec.runner = _text(options["runner"], "runner", "@mpmd_mpi")
        spec.working_dir = _text(options.get("working_dir"), "working_dir", "@mpmd_mpi")
        if "fail_by_exit_value" in options:
            spec.fail_by_exit_value = check_flag(options["fail_by_exit_value"],
                                                 "fail_by_exit_value", name)
        if options.get("processes_per_node") is not None:
            spec.processes_per_node = check_int(options["processes_per_node"],
                                                "processes_per_node", name)
        programs = options.get("programs") or []
        if not isinstance(programs, list | tuple) or not programs:
            raise TaskDefinitionError(f"task '{name}': @mpmd_mpi needs programs=[dict("
                                      "binary=..., processes=..., args=...), ...]")
        spec.programs = tuple(_mpmd_program(p, name) for p in programs)
        spec.processes = sum(p.processes for p in spec.programs)

    return _decorator(apply)


def _mpmd_program(program: Any, task: str) -> MpiProgram:
    if not isinstance(program, dict) or not program.get("binary"):
        raise TaskDefinitionError(f"task '{task}': each @mpmd_mpi program must be a dict "
                                  f"with a binary, got {program!r}")
    unknown = set(program) - {"binary", "args", "params", "processes"}
    if unknown:
        raise TaskDefinitionError(f"task '{task}': @mpmd_mpi program has unknown keys "
                                  f"{sorted(unknown)}; use binary, args, processes")
    processes = check_int(program.get("processes", 1), "processes", task)
    if isinstance(processes, str):
        raise TaskDefinitionError(f"task '{task}': @mpmd_mpi processes must be numbers")
    args = program.get("args", program.get("params"))
    return MpiProgram(str(program["binary"]), None if args is None else str(args), processes)


def multinode(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    """``@multinode(computing_nodes=2)``: the task holds that many nodes (workers) and
    finds them in ``COMPSS_NUM_NODES``, ``COMPSS_HOSTNAMES``, ``COMPSS_NUM_THREADS``."""
    _no_positional("@multinode", args)
    options = _checked("@multinode", kwargs, {"computing_nodes"},
                       legacy={"computingNodes": "computing_nodes"})

    def apply(definition: Any) -> None:
        spec = set_kind(definition, TaskKind.MULTINODE, "@multinode")
        spec.computing_nodes = check_int(options.get("computing_nodes", 1),
                                         "computing_nodes", definition.name, at_call=True)

    return _decorator(apply)


def container(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    """``@container(engine="SINGULARITY", image="app.sif", options="--nv")``: the task
    (its Python body, or the program of @binary/@mpi under it) runs in the image."""
    _no_positional("@container", args)
    options = _checked("@container", kwargs, {"engine", "image", "options"},
                       ("engine", "image"))

    def apply(definition: Any) -> None:
        spec = hpc_of(definition)
        spec.container = _container_spec(options["engine"], options["image"],
                                         options.get("options"), "@container")
        spec.decorators = (*spec.decorators, "@container")

    return _decorator(apply)


def _container_spec(engine: Any, image: Any, options: Any, decorator: str) -> ContainerSpec:
    name = str(engine or "").strip().upper()
    if name not in ENGINES:
        raise TaskDefinitionError(f"{decorator}: engine={engine!r} is not supported; use "
                                  f"one of {', '.join(ENGINES)}")
    if not image or not isinstance(image, str):
        raise TaskDefinitionError(f"{decorator}: image={image!r} must name an image")
    return ContainerSpec(name, image, _text(options, "options", decorator))


def _exec_decorator(label: str, default_fail: bool) -> Callable[..., Any]:
    def decorator(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        _no_positional(label, args)
        options = _checked(label, kwargs, {"binary", "args", "fail_by_exit_value"},
                           ("binary",), {"params": "args"})

        def apply(definition: Any) -> None:
            spec = hpc_of(definition)
            fail = check_flag(options.get("fail_by_exit_value", default_fail),
                              "fail_by_exit_value", definition.name)
            exec_spec = ExecSpec(str(options["binary"]),
                                 _text(options.get("args"), "args", label), fail)
            if label == "@prolog":
                spec.prolog = exec_spec
            else:
                spec.epilog = exec_spec
            spec.decorators = (*spec.decorators, label)

        return _decorator(apply)

    decorator.__name__ = label[1:]
    decorator.__doc__ = (f"PyCOMPSs ``{label}(binary=..., args=..., fail_by_exit_value="
                         f"{default_fail})``: a program run on the worker "
                         f"{'before' if label == '@prolog' else 'after'} the task.")
    return decorator


prolog = _exec_decorator("@prolog", True)
epilog = _exec_decorator("@epilog", False)


def _refused_decorator(label: str, what: str, mandatory: Iterable[str] = (),
                       supported: Iterable[str] = (),
                       legacy: dict[str, str] | None = None) -> Callable[..., Any]:
    legacy = legacy or {}
    known = set(supported) | set(legacy)

    def decorator(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        # PyCOMPSs' argument check, at definition: a missing mandatory argument (under
        # its name or its older camelCase one) is an error, the rest only warnings.
        given = {legacy.get(key, key) for key in kwargs}
        missing = [key for key in mandatory if key not in given]
        if missing:
            raise TaskDefinitionError(f"{label}: missing mandatory parameter(s) "
                                      f"{', '.join(missing)}")
        _warn_legacy(label, kwargs, legacy)
        for key in kwargs:
            if known and key not in known:
                warnings.warn(f"{label}: unexpected parameter {key!r}; supported: "
                              f"{', '.join(sorted(known))}", UserWarning, stacklevel=2)

        def apply(definition: Any) -> None:
            spec = hpc_of(definition)
            spec.decorators = (*spec.decorators, label)
            spec.refused = (f"{label} ({what}) is not supported: there is no COMPSs "
                            "runtime or toolchain for it here; use @binary, @mpi or "
                            "@container for the program it runs")

        return _decorator(apply)

    decorator.__name__ = label[1:]
    decorator.__doc__ = (f"PyCOMPSs ``{label}``: {what}. Accepted on a definition (so "
                         "an application defining it imports), refused when called.")
    return decorator


def compss(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    """``@compss(runcompss="${RUNCOMPSS}", flags="-d", app_name="nested.py",
    worker_in_master=..., computing_nodes=..., working_dir=..., fail_by_exit_value=...)``:
    the task runs a whole PyCOMPSs application, its parameters being the application's
    arguments, its return value the application's exit value. ``runcompss`` unset (or
    a ``runcompss`` that is not installed) runs it with ``eflows-run``, this runtime."""
    _no_positional("@compss", args)
    legacy = {"appName": "app_name", "workerInMaster": "worker_in_master",
              "computingNodes": "computing_nodes", "workingDir": "working_dir"}
    _warn_legacy("@compss", kwargs, legacy)
    options = _checked("@compss", kwargs,
                       {"runcompss", "flags", "app_name", "worker_in_master",
                        "computing_nodes", "working_dir", "fail_by_exit_value", "args"},
                       ("app_name",), legacy)

    def apply(definition: Any) -> None:
        spec = set_kind(definition, TaskKind.BINARY, "@compss")
        spec.nested_app = _text(options["app_name"], "app_name", "@compss")
        spec.binary = _text(options.get("runcompss"), "runcompss", "@compss")
        spec.flags = _text(options.get("flags"), "flags", "@compss")
        spec.working_dir = _text(options.get("working_dir"), "working_dir", "@compss")
        spec.args = _text(options.get("args"), "args", "@compss")
        # PyCOMPSs gives the nested application's exit value back as the task's result
        # (its own test programs expect 1 from a failed application, 123 from
        # sys.exit(123)) rather than failing the task.
        spec.fail_by_exit_value = check_flag(options.get("fail_by_exit_value", False),
                                             "fail_by_exit_value", definition.name)

    return _decorator(apply)


decaf = _refused_decorator(
    "@decaf", "a Decaf dataflow", mandatory=("df_script",),
    supported=("computing_nodes", "working_dir", "runner", "df_executor", "df_lib",
               "df_script", "fail_by_exit_value"),
    legacy={"computingNodes": "computing_nodes", "workingDir": "working_dir",
            "dfExecutor": "df_executor", "dfLib": "df_lib", "dfScript": "df_script"})
opencl = _refused_decorator("@opencl", "an OpenCL kernel")
julia = _refused_decorator("@julia", "a Julia script run by COMPSs")
http = _refused_decorator("@http", "a call of an HTTP service")


def _no_positional(decorator: str, args: tuple[Any, ...]) -> None:
    if args:
        raise TaskDefinitionError(f"{decorator} takes keyword arguments only, e.g. "
                                  f"{decorator}(binary=\"...\")")
