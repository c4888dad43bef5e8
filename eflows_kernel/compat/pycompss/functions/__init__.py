"""pycompss.functions: PyCOMPSs' ready-made helpers (reductions, data generators, timing)."""
