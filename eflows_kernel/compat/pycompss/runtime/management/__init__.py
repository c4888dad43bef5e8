"""pycompss.runtime.management."""
