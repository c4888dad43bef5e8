"""``pycompss.runtime.management.classes``: ``Future``, ``EmptyReturn``, ``FunctionType``.

Applications test ``isinstance(value, Future)`` to tell a task's not yet synchronised
output from a value (and register it with ``abc.ABCMeta.register``). Here every output
a task call returns is such a future, whatever its declared return type.
"""

from __future__ import annotations

from typing import Any


class _FutureType(type):
    """Makes the outputs of our tasks instances of PyCOMPSs' ``Future``."""

    def __instancecheck__(cls, obj: Any) -> bool:
        from eflows_kernel.engine.data import TaskOutput

        return isinstance(obj, TaskOutput) or type.__instancecheck__(cls, obj)

    def __subclasscheck__(cls, subclass: Any) -> bool:
        from eflows_kernel.engine.data import TaskOutput

        return (isinstance(subclass, type) and issubclass(subclass, TaskOutput)) or \
            type.__subclasscheck__(cls, subclass)


class Future(metaclass=_FutureType):
    """The future object a task call returns (see the module docstring)."""


class EmptyReturn:
    """For functions with empty return."""


class SupportedFunctionTypes:
    """Used as enum to identify the function type."""

    FUNCTION = 1
    INSTANCE_METHOD = 2
    CLASS_METHOD = 3


FunctionType = SupportedFunctionTypes()
