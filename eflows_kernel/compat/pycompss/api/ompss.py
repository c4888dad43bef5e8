"""pycompss.api.ompss on eflows_kernel (model/hpc)."""
from eflows_kernel.model.hpc.decorators import ompss

OmpSs = ompss
OMPSs = ompss
