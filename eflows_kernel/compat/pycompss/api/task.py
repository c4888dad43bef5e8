from eflows_kernel.model.task import task

__all__ = ["task"]
