"""pycompss.api.reduce: PyCOMPSs' earlier name of ``@reduction`` (same arguments)."""
from eflows_kernel.model.variants import reduction

reduce = reduction
Reduce = reduction
REDUCE = reduction
__all__ = ["REDUCE", "Reduce", "reduce"]
