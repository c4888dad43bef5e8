"""pycompss.streams: distributed streams (see eflows_kernel.streams)."""
