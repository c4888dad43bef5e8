"""The PyCOMPSs programming model: what users import to write workflows."""

from eflows_kernel.model.api import (
    TaskGroup,
    compss_barrier,
    compss_barrier_group,
    compss_cancel_group,
    compss_delete_file,
    compss_delete_object,
    compss_file_exists,
    compss_open,
    compss_wait_on,
    compss_wait_on_file,
)
from eflows_kernel.model.decorators import constraint, on_failure
from eflows_kernel.model.exceptions import (
    COMPSsException,
    EngineError,
    TaskArgumentError,
    TaskCancelledError,
    TaskDefinitionError,
    TaskFailedError,
    TaskTimeoutError,
)
from eflows_kernel.model.task import OnFailure, TaskDefinition, task

__all__ = [
    "COMPSsException",
    "EngineError",
    "OnFailure",
    "TaskArgumentError",
    "TaskCancelledError",
    "TaskDefinition",
    "TaskDefinitionError",
    "TaskFailedError",
    "TaskGroup",
    "TaskTimeoutError",
    "compss_barrier",
    "compss_barrier_group",
    "compss_cancel_group",
    "compss_delete_file",
    "compss_delete_object",
    "compss_file_exists",
    "compss_open",
    "compss_wait_on",
    "compss_wait_on_file",
    "constraint",
    "on_failure",
    "task",
]
