"""pycompss.api.multinode: accepted; its task fails when it runs (model/unavailable.py)."""
from eflows_kernel.model.unavailable import unavailable_decorator

multinode = unavailable_decorator("multinode")
