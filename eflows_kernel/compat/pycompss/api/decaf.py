"""pycompss.api.decaf: accepted; its task fails when it runs (model/unavailable.py)."""
from eflows_kernel.model.unavailable import unavailable_decorator

decaf = unavailable_decorator("decaf")
