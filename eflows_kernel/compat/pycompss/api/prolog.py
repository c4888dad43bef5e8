"""pycompss.api.prolog: accepted; its task fails when it runs (model/unavailable.py)."""
from eflows_kernel.model.unavailable import unavailable_decorator

prolog = unavailable_decorator("prolog")
