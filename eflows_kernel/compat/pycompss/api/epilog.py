"""pycompss.api.epilog on eflows_kernel (model/hpc)."""
from eflows_kernel.model.hpc.decorators import epilog

Epilog = epilog
