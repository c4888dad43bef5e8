"""pycompss.util.sharedmemory on eflows_kernel (see shma)."""
