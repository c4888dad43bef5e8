"""pycompss.api.mpmd_mpi: accepted; its task fails when it runs (model/unavailable.py)."""
from eflows_kernel.model.unavailable import unavailable_decorator

mpmd_mpi = unavailable_decorator("mpmd_mpi")
