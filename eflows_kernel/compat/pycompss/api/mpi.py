"""pycompss.api.mpi on eflows_kernel (model/hpc)."""
from eflows_kernel.model.hpc.decorators import mpi

Mpi = mpi
MPI = mpi
