"""pycompss.api.container on eflows_kernel (model/hpc)."""
from eflows_kernel.model.hpc.decorators import container

Container = container
