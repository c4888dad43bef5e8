"""HPC task sizes PyCOMPSs reads at each call: ``@mpi(processes="n")``, ``computing_nodes``.

PyCOMPSs lets ``processes`` (its older name ``computing_nodes``) of ``@mpi`` and
``computing_nodes`` of ``@multinode`` name a global variable of the task's module or a
parameter (its own test ``0_dynamic_computing_nodes`` sets ``cn = 2``, calls the task,
sets ``cn = 4`` and calls it again: two sizes). The decorators keep such a value as
given (spec.check_int with ``at_call``); the engine asks :func:`resolve_at_call` for
the sizes of one call before it reserves the task's nodes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from eflows_kernel.model.exceptions import TaskArgumentError
from eflows_kernel.model.hpc.spec import HpcTask, is_read_at_call

_SIZES = ("processes", "computing_nodes")


def resolve_at_call(definition: Any, spec: HpcTask, arguments: dict[str, Any]) -> HpcTask:
    """``spec`` with its call-time sizes read for this call (``spec`` itself if none)."""
    changes: dict[str, int] = {}
    for size in _SIZES:
        value = getattr(spec, size)
        if not is_read_at_call(value):
            continue
        from eflows_kernel.model.decorators import evaluate_at_call

        decorator = "@multinode" if size == "computing_nodes" else "@mpi"
        number = evaluate_at_call(definition, f"{decorator} {size}", value.strip(),
                                  arguments)
        if number != int(number) or number < 1:
            raise TaskArgumentError(f"task '{definition.name}': {decorator} "
                                    f"{size}={value!r} gives {number:g}; it must be a "
                                    "whole number >= 1")
        changes[size] = int(number)
    return dataclasses.replace(spec, **changes) if changes else spec
