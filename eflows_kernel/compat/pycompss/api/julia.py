"""pycompss.api.julia: accepted; its task fails when it runs (model/unavailable.py)."""
from eflows_kernel.model.unavailable import unavailable_decorator

julia = unavailable_decorator("julia")
