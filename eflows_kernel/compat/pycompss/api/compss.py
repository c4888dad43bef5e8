"""pycompss.api.compss: accepted; its task fails when it runs (model/unavailable.py)."""
from eflows_kernel.model.unavailable import unavailable_decorator

compss = unavailable_decorator("compss")
