"""What a deployment reads from an application's source to size its Slurm allocation."""

from __future__ import annotations

from pathlib import Path

from eflows_kernel.model.hpc.declared import Requirements, declared_requirements
from tests.conftest import APPS
from tests.hpc import HPC_APPS


def test_requirements_of_the_test_applications() -> None:
    # hpc_mpi.py: processes=6 (6 cores), ppn=2 x computing_units=2 (4 cores on one node),
    # scale_by_cu with computing_units=4 (4 cores on one node), @multinode(2).
    assert declared_requirements(HPC_APPS / "hpc_mpi.py") == Requirements(6, 4, 2)
    assert declared_requirements(HPC_APPS / "hpc_accounting.py") == Requirements(4, 1, 1)
    assert declared_requirements(APPS / "wordcount.py") == Requirements(1, 1, 1)


def test_values_known_only_at_run_time_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text('''
from pycompss.api.mpi import mpi
from pycompss.api.constraint import constraint
from pycompss.api.task import task
N = 8

@mpi(binary="a", runner="mpirun", processes="$NP")
@task()
def from_env(): pass

@mpi(binary="a", runner="mpirun", processes=N)
@task()
def from_variable(): pass

@constraint(computing_units="3")
@mpi(binary="a", runner="mpirun", processes=2, processes_per_node=2)
@task()
def literal(): pass
''')
    (tmp_path / "broken.py").write_text("def (:\n")
    assert declared_requirements(tmp_path) == Requirements(6, 6, 1)


def test_allocation_spreads_the_largest_task_over_the_nodes() -> None:
    assert Requirements(8, 2, 1).allocation(2) == (2, 4)
    assert Requirements(8, 2, 1).allocation(None) == (1, 8)
    assert Requirements(2, 2, 3).allocation(1) == (3, 2)
    assert Requirements(1, 1, 1).allocation(None, min_cores=2) == (1, 2)
