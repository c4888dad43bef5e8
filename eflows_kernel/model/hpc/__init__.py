"""PyCOMPSs' HPC task types: programs, MPI, several nodes, containers (see spec.py)."""

from eflows_kernel.model.hpc.decorators import (
    binary,
    container,
    epilog,
    mpi,
    mpmd_mpi,
    multinode,
    prolog,
)
from eflows_kernel.model.hpc.software import software
from eflows_kernel.model.hpc.spec import HpcTask, TaskKind

__all__ = ["HpcTask", "TaskKind", "binary", "container", "epilog", "mpi", "mpmd_mpi",
           "multinode", "prolog", "software"]
