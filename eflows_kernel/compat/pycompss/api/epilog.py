"""pycompss.api.epilog: accepted; its task fails when it runs (model/unavailable.py)."""
from eflows_kernel.model.unavailable import unavailable_decorator

epilog = unavailable_decorator("epilog")
