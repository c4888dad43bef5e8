"""pycompss.api.IO: accepted; its task fails when it runs (model/unavailable.py)."""
from eflows_kernel.model.unavailable import unavailable_decorator

IO = unavailable_decorator("IO")
