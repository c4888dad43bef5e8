"""pycompss.api.container: accepted; its task fails when it runs (model/unavailable.py)."""
from eflows_kernel.model.unavailable import unavailable_decorator

container = unavailable_decorator("container")
