"""pycompss.api.compss: a task running a nested PyCOMPSs application."""

from eflows_kernel.model.hpc.decorators import compss

COMPSs = compss
