"""Exceptions users meet: PyCOMPSs' own ``COMPSsException`` and our clear errors."""

from __future__ import annotations


class COMPSsException(Exception):
    """Raised inside a task to stop its task group (PyCOMPSs semantics).

    The group's other tasks are cancelled and the exception is raised again in the
    main program at the group's barrier.
    """

    def __init__(self, message: str = "", target_direction: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.target_direction = target_direction

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message, self.target_direction))


class TaskDefinitionError(ValueError):
    """A ``@task`` decorator is inconsistent with its function."""


class TaskArgumentError(TypeError):
    """A task was called with arguments that cannot work (names task and parameter)."""


class TaskFailedError(RuntimeError):
    """A task failed for good; carries the task's own traceback in its message."""

    def __init__(self, message: str, task_id: int = 0, task_name: str = "",
                 remote_traceback: str = "") -> None:
        super().__init__(message)
        self.task_id = task_id
        self.task_name = task_name
        self.remote_traceback = remote_traceback

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.args[0], self.task_id, self.task_name,
                             self.remote_traceback))


class TaskCancelledError(RuntimeError):
    """The value asked for belongs to a task that was cancelled and will never run."""


class TaskTimeoutError(TimeoutError):
    """A task ran longer than its ``time_out``."""


class EngineError(RuntimeError):
    """The engine cannot do what was asked (not started, no worker fits a constraint...)."""
