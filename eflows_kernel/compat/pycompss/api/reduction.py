"""pycompss.api.reduction on eflows_kernel."""
from eflows_kernel.model.variants import reduction

Reduction = reduction
__all__ = ["Reduction", "reduction"]
