"""pycompss.api.local on eflows_kernel."""
from eflows_kernel.model.variants import local

__all__ = ["local"]
