"""pycompss.runtime: the few names applications import from PyCOMPSs' runtime package."""
