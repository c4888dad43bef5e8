"""pycompss.api.mpi: accepted; its task fails when it runs (model/unavailable.py)."""
from eflows_kernel.model.unavailable import unavailable_decorator

mpi = unavailable_decorator("mpi")
