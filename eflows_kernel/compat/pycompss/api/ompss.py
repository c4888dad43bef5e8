"""pycompss.api.ompss: accepted; its task fails when it runs (model/unavailable.py)."""
from eflows_kernel.model.unavailable import unavailable_decorator

ompss = unavailable_decorator("ompss")
