"""``pycompss.runtime.management.classes``: ``Future``, ``EmptyReturn``, ``FunctionType``.

Applications test ``isinstance(value, Future)`` to tell a task's not yet synchronised
output from a value (and register it with ``abc.ABCMeta.register``). Here every output
a task call returns is such a future, whatever its declared return type.
"""

from __future__ import annotations

from eflows_kernel.model.futures import Future

__all__ = ["EmptyReturn", "FunctionType", "Future", "SupportedFunctionTypes"]


class EmptyReturn:
    """For functions with empty return."""


class SupportedFunctionTypes:
    """Used as enum to identify the function type."""

    FUNCTION = 1
    INSTANCE_METHOD = 2
    CLASS_METHOD = 3


FunctionType = SupportedFunctionTypes()
