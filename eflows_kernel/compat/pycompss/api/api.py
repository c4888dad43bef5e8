"""pycompss.api.api on eflows_kernel."""
from eflows_kernel.model.api import (
    TaskGroup,
    compss_barrier,
    compss_barrier_group,
    compss_cancel_group,
    compss_delete_file,
    compss_delete_object,
    compss_file_exists,
    compss_get_number_of_resources,
    compss_open,
    compss_start,
    compss_stop,
    compss_wait_on,
    compss_wait_on_directory,
    compss_wait_on_file,
)
from eflows_kernel.model.runtime_api import (
    compss_add_logger,
    compss_free_resources,
    compss_request_resources,
    compss_set_wall_clock,
    compss_snapshot,
)

__all__ = [
    "TaskGroup", "compss_add_logger", "compss_barrier", "compss_barrier_group",
    "compss_cancel_group", "compss_delete_file", "compss_delete_object",
    "compss_file_exists", "compss_free_resources", "compss_get_number_of_resources",
    "compss_open", "compss_request_resources", "compss_set_wall_clock", "compss_snapshot",
    "compss_start", "compss_stop", "compss_wait_on", "compss_wait_on_directory",
    "compss_wait_on_file",
]
