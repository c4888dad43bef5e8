"""pycompss.api.opencl: accepted; its task fails when it runs (model/unavailable.py)."""
from eflows_kernel.model.unavailable import unavailable_decorator

opencl = unavailable_decorator("opencl")
