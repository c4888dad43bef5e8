"""PyCOMPSs-compatible names, served by eflows_kernel (see eflows_kernel.compat)."""
