"""pycompss.api.julia on eflows_kernel (model/hpc)."""
"""pycompss.api.julia: accepted on a definition, refused when the task is called."""

from eflows_kernel.model.hpc.decorators import julia

Julia = julia
