"""pycompss.api.prolog on eflows_kernel (model/hpc)."""
from eflows_kernel.model.hpc.decorators import prolog

Prolog = prolog
