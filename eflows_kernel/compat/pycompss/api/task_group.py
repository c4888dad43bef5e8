from eflows_kernel.model.api import TaskGroup
