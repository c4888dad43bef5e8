"""``pycompss.util.exceptions``: PyCOMPSs' exception classes, for ``except`` clauses."""

from __future__ import annotations


class PyCOMPSsException(Exception):
    """Generic PyCOMPSs error."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"PyCOMPSs Exception: {self.message}"


class NotInPyCOMPSsException(PyCOMPSsException):
    """A PyCOMPSs feature was used outside a PyCOMPSs run."""


class NotImplementedException(PyCOMPSsException):
    """A PyCOMPSs feature that is not implemented."""


class MissingImplementedException(PyCOMPSsException):
    """An implementation is missing."""


class SerializerException(Exception):
    """An object could not be serialised or deserialised."""


class TimeOutError(BaseException):
    """A task exceeded its time out."""


class CancelError(BaseException):
    """A task was cancelled."""


class DDSException(PyCOMPSsException):
    """A DDS error."""
