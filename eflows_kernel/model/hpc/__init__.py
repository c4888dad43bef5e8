"""PyCOMPSs' HPC task types: programs, MPI, several nodes, containers (see spec.py)."""

from eflows_kernel.model.hpc.decorators import (
    binary,
    compss,
    container,
    decaf,
    epilog,
    http,
    julia,
    mpi,
    mpmd_mpi,
    multinode,
    ompss,
    opencl,
    prolog,
)
from eflows_kernel.model.hpc.software import software
from eflows_kernel.model.hpc.spec import HpcTask, TaskKind

__all__ = [
    "HpcTask",
    "TaskKind",
    "binary",
    "compss",
    "container",
    "decaf",
    "epilog",
    "http",
    "julia",
    "mpi",
    "mpmd_mpi",
    "multinode",
    "ompss",
    "opencl",
    "prolog",
    "software",
]
