"""pycompss.api.software on eflows_kernel (model/hpc)."""
from eflows_kernel.model.hpc.software import software

Software = software
