"""pycompss.api.task on eflows_kernel."""
from eflows_kernel.model.task import task

Task = task
__all__ = ["Task", "task"]
