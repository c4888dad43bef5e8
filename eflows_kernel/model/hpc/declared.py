"""What an application's tasks declare they need, read from its source without running it.

A deployment must ask Slurm for the allocation before the application runs, so the
decorators are read statically: ``@mpi``, ``@mpmd_mpi``, ``@multinode`` and
``@constraint`` with literal values (``processes=4``, ``computing_units="2"``) are
given to the real decorators and measured with the same rules as at run time
(``shape.py``); values only known at run time (``"$NP"``, a variable) are skipped.
"""

from __future__ import annotations

import ast
import contextlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from eflows_kernel.model.exceptions import TaskArgumentError, TaskDefinitionError
from eflows_kernel.model.hpc import decorators
from eflows_kernel.model.hpc.shape import task_shape
from eflows_kernel.model.hpc.spec import HpcTask

_KINDS = {"mpi": decorators.mpi, "MPI": decorators.mpi, "Mpi": decorators.mpi,
          "mpmd_mpi": decorators.mpmd_mpi, "MPMDMPI": decorators.mpmd_mpi,
          "multinode": decorators.multinode, "MultiNode": decorators.multinode,
          "Multinode": decorators.multinode}
_CONSTRAINT = {"constraint", "Constraint"}


@dataclass(frozen=True)
class Requirements:
    """The largest needs of any one task of the application."""

    cores: int = 1  # cores the largest task holds in all
    slot_cores: int = 1  # cores that must sit on one node
    nodes: int = 1  # distinct nodes a @multinode task needs

    def allocation(self, num_nodes: int | None, min_cores: int = 1) -> tuple[int, int]:
        """(nodes, cores per node) for a job of ``num_nodes`` nodes (the step's, at
        least): enough for the largest task to run, spread over the nodes."""
        nodes = max(num_nodes or 1, self.nodes)
        per_node = max(min_cores, self.slot_cores, math.ceil(self.cores / nodes))
        return nodes, per_node


def declared_requirements(folder: str | Path) -> Requirements:
    """The needs declared in the ``.py`` files under ``folder`` (or one file)."""
    root = Path(folder)
    files = [root] if root.is_file() else sorted(root.rglob("*.py"))
    cores = slot_cores = nodes = 1
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                shape = _shape_of(node.decorator_list)
                if shape is not None:
                    cores = max(cores, shape.cores)
                    slot_cores = max(slot_cores, shape.slot_cores)
                    if shape.distinct_nodes:
                        nodes = max(nodes, shape.slots)
    return Requirements(cores, slot_cores, nodes)


def _shape_of(decorator_list: list[ast.expr]) -> Any:
    hpc: HpcTask | None = None
    units = 1
    for decorator in decorator_list:
        if not isinstance(decorator, ast.Call):
            continue
        name = _name(decorator.func)
        kwargs = _literal_kwargs(decorator)
        if name in _CONSTRAINT:
            value = kwargs.get("computing_units", kwargs.get("computingUnits"))
            with contextlib.suppress(ValueError):
                units = max(units, int(str(value))) if value is not None else units
        elif name in _KINDS:
            try:
                holder = _Holder()
                _KINDS[name](**kwargs)(holder)
                for apply in holder.__dict__.pop("__eflows_pending__", ()):
                    apply(holder)  # what @task would do with the decorators above it
                hpc = holder.hpc
            except (TaskDefinitionError, TypeError):
                continue
    if hpc is None:
        return None
    try:
        return task_shape(hpc, units, "declared")
    except TaskArgumentError:  # "$NP" and the like: known when the task is called
        return None


class _Holder:
    """Stands for a task definition while the decorators record what they were told."""

    name = "declared"
    hpc: HpcTask | None = None

    class signature:  # noqa: N801 - mimics inspect.Signature for @mpi's layout check
        parameters: ClassVar[dict[str, Any]] = {}


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _literal_kwargs(call: ast.Call) -> dict[str, Any]:
    out = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            continue
        try:
            out[keyword.arg] = ast.literal_eval(keyword.value)
        except ValueError:
            continue  # a name or an expression: known at run time only
    return out
