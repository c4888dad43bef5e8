"""pycompss.api.implement on eflows_kernel."""
from eflows_kernel.model.variants import implement

Implement = implement
__all__ = ["Implement", "implement"]
