"""pycompss.api.http: accepted; its task fails when it runs (model/unavailable.py)."""
from eflows_kernel.model.unavailable import unavailable_decorator

http = unavailable_decorator("http")
