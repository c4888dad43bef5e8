"""``Future``: what a task call hands back before its value is synchronised.

Applications test ``isinstance(value, Future)`` (PyCOMPSs'
``pycompss.runtime.management.classes.Future``). The model does not know the
runtime's future class; that class says what it is with ``__eflows_future__ = True``.
"""

from __future__ import annotations

from abc import ABC
from typing import Any


class Future(ABC):  # noqa: B024 - a marker recognised by its subclass hook
    """A task's output not yet synchronised (any class marked ``__eflows_future__``)."""

    @classmethod
    def __subclasshook__(cls, subclass: Any) -> Any:
        if cls is Future and getattr(subclass, "__eflows_future__", False):
            return True
        return NotImplemented
