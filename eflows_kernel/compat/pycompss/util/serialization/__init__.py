"""pycompss.util.serialization."""
