"""pycompss.api.binary: accepted; its task fails when it runs (model/unavailable.py)."""
from eflows_kernel.model.unavailable import unavailable_decorator

binary = unavailable_decorator("binary")
