"""pycompss.api.mpmd_mpi on eflows_kernel (model/hpc)."""
from eflows_kernel.model.hpc.decorators import mpmd_mpi

MPMDMPI = mpmd_mpi
MpmdMpi = mpmd_mpi
