"""pycompss.api.software: accepted; its task fails when it runs (model/unavailable.py)."""
from eflows_kernel.model.unavailable import unavailable_decorator

software = unavailable_decorator("software")
