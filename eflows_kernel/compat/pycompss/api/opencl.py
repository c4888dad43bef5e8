"""pycompss.api.opencl: accepted on a definition, refused when the task is called."""

from eflows_kernel.model.hpc.decorators import opencl

OpenCL = opencl
