"""pycompss.api.multinode on eflows_kernel (model/hpc)."""
from eflows_kernel.model.hpc.decorators import multinode

MultiNode = multinode
Multinode = multinode
