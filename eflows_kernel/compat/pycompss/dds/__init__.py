"""``pycompss.dds``: PyCOMPSs' Distributed Data Set on tasks (see :mod:`.dds`)."""

from eflows_kernel.compat.pycompss.dds.dds import DDS
