"""pycompss.api.binary on eflows_kernel (model/hpc)."""
from eflows_kernel.model.hpc.decorators import binary

Binary = binary
