"""pycompss.api on eflows_kernel."""
