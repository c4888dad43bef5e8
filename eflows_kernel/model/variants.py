"""``@implement``, ``@reduction`` and ``@local``: decorators around the task itself.

- ``@implement(source_class="pkg.module", method="main_task")`` declares this task an
  alternative implementation of another one. The engine runs the main task, and an
  alternative when the main one's constraints fit no worker (an alternative can
  also be called directly, as any task).
- ``@reduction(chunk_size=N)`` over ``@task(col=COLLECTION_IN)``: the call becomes a
  tree of tasks, each reducing at most N elements (or partial results), as the
  COMPSs runtime does.
- ``@local`` on a plain function: its arguments are synchronised (as with
  ``compss_wait_on``) before it runs in the main program.
"""

from __future__ import annotations

import functools
from typing import Any

from eflows_kernel.model.exceptions import TaskDefinitionError
from eflows_kernel.model.task import TaskDefinition, apply_to_definition, parse_count

# (module or module.Class, function name) -> alternatives declared with @implement.
_ALTERNATIVES: dict[tuple[str, str], list[TaskDefinition]] = {}


def implement(source_class: str = "", method: str = "", **kwargs: Any) -> Any:
    source_class = kwargs.pop("sourceClass", source_class)
    method = kwargs.pop("method", method)
    missing = [name for name, value in (("source_class", source_class), ("method", method))
               if not value]
    if missing:  # PyCOMPSs refuses the definition too
        raise TaskDefinitionError(f"@implement: missing mandatory parameter(s) "
                                  f"{', '.join(missing)}")

    def apply(definition: TaskDefinition) -> None:
        alternatives = _ALTERNATIVES.setdefault((source_class, method), [])
        if definition not in alternatives:
            alternatives.append(definition)

    return lambda target: apply_to_definition(target, apply)


def alternatives_of(definition: TaskDefinition) -> list[TaskDefinition]:
    """Definitions declared ``@implement`` of this one (any module spelling)."""
    qualname = getattr(definition, "__qualname__", definition.name)
    owner = qualname.rsplit(".", 1)[0] if "." in qualname else ""
    module = getattr(definition, "__module__", "") or ""
    found: list[TaskDefinition] = []
    for (source, method), defs in _ALTERNATIVES.items():
        if method != definition.name:
            continue
        tail = source.rsplit(".", 1)[-1]
        # The main task may run as __main__ (eflows-run app.py), so the module a
        # user wrote in source_class cannot always be compared exactly.
        if (module in (source, "__main__") or tail in (owner, module.rsplit(".", 1)[-1])
                or f"{module}.{owner}" == source):
            found.extend(d for d in defs if d is not definition and d not in found)
    return found


def reduction(chunk_size: Any = 0, is_reduce: bool = True, **kwargs: Any) -> Any:
    chunk_size = kwargs.pop("chunkSize", chunk_size)

    def apply(definition: TaskDefinition) -> None:
        definition.options.is_reduce = bool(is_reduce)
        definition.options.chunk_size = parse_count(chunk_size, "chunk_size",
                                                    definition.name)

    return lambda target: apply_to_definition(target, apply)


def local(func: Any) -> Any:
    """PyCOMPSs ``@local``: synchronise the arguments, then run in the main program.

    As PyCOMPSs' ``@local`` does, a future argument is replaced by its value
    everywhere the program refers to it (variables of the calling frames, lists,
    dicts, object attributes), and INOUT objects are updated in place.
    """
    @functools.wraps(func)
    def run_locally(*args: Any, **kwargs: Any) -> Any:
        from eflows_kernel.model.runtime import current_runtime

        engine = current_runtime()
        if engine is not None:
            args = tuple(_synchronised(engine, arg) for arg in args)
            kwargs = {key: _synchronised(engine, value) for key, value in kwargs.items()}
        return func(*args, **kwargs)

    return run_locally


def _synchronised(engine: Any, value: Any) -> Any:
    new = engine.wait_on(value)
    if new is not value and getattr(type(value), "__eflows_future__", False):
        _replace_references(value, new)
    return new


def _replace_references(old: Any, new: Any) -> None:
    import ctypes
    import gc
    import sys

    for referrer in gc.get_referrers(old):
        if isinstance(referrer, list):
            for index, item in enumerate(referrer):
                if item is old:
                    referrer[index] = new
        elif isinstance(referrer, dict):
            for key, item in list(referrer.items()):
                if item is old:
                    referrer[key] = new
    frame = sys._getframe(1)
    while frame is not None:
        names = [name for name, item in frame.f_locals.items() if item is old]
        if names:
            for name in names:
                frame.f_locals[name] = new
            locals_to_fast = getattr(ctypes.pythonapi, "PyFrame_LocalsToFast", None)
            if locals_to_fast is not None and sys.version_info < (3, 13):
                locals_to_fast(ctypes.py_object(frame), ctypes.c_int(0))
        frame = frame.f_back
