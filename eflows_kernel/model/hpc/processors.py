"""``@constraint(processors=[{"processorType": "GPU", "computingUnits": 2}, ...])``.

PyCOMPSs describes a task's processors one by one; here CPU processors add up to the
task's cores (when ``computing_units`` is not given) and every other processor type
becomes a Dask worker resource of that name (``GPU``, ``FPGA``...), which workers
declare (``eflows-run --worker-resources GPU=2``, or a site's worker options), so a
GPU task only runs on a worker with a free GPU.
"""

from __future__ import annotations

from typing import Any

from eflows_kernel.model.exceptions import TaskDefinitionError

_TYPE_KEYS = ("processorType", "processor_type", "type")
_UNITS_KEYS = ("computingUnits", "computing_units", "units")


def processor_requests(constraints: dict[str, Any], task: str) -> tuple[int, dict[str, float]]:
    """(CPU cores asked by CPU processors, {resource: amount} for the other types)."""
    processors = constraints.get("processors", constraints.get("processor"))
    if processors is None:
        return 0, {}
    if isinstance(processors, dict):
        processors = [processors]
    if not isinstance(processors, list | tuple):
        raise TaskDefinitionError(f"task '{task}': @constraint processors={processors!r} "
                                  "must be a list of dicts (processorType, computingUnits)")
    cpus, others = 0, {}
    for processor in processors:
        if not isinstance(processor, dict):
            raise TaskDefinitionError(f"task '{task}': @constraint processor {processor!r} "
                                      "must be a dict")
        kind = str(next((processor[k] for k in _TYPE_KEYS if k in processor), "CPU")).upper()
        raw = next((processor[k] for k in _UNITS_KEYS if k in processor), 1)
        try:
            units = float(raw)
        except (TypeError, ValueError):
            raise TaskDefinitionError(f"task '{task}': @constraint processor computingUnits="
                                      f"{raw!r} is not a number") from None
        if units <= 0:
            continue
        if kind == "CPU":
            cpus += int(units)
        else:
            others[kind] = others.get(kind, 0.0) + units
    return cpus, others
