"""Fixtures of the HPC task type tests: an MPI program, a container image, a cluster.

Everything is built here from what the Debian packages of
``scripts/system-packages.txt`` install (``mpicc``, ``ch-run``) and from this host's
files: no registry, no download.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hpc import HPC_APPS
from tests.hpc.images import build_python_image


@pytest.fixture(scope="session")
def mpi_hello(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tests/apps/hpc/mpi_hello.c`` compiled with mpicc."""
    if shutil.which("mpicc") is None:
        pytest.fail("mpicc is missing: run scripts/install-system-packages.sh (libopenmpi-dev)")
    binary = tmp_path_factory.mktemp("mpi") / "mpi_hello"
    subprocess.run(["mpicc", "-O2", "-o", str(binary), str(HPC_APPS / "mpi_hello.c")],
                   check=True)
    return binary


@pytest.fixture(scope="session")
def python_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Charliecloud image (a directory) with its own Python, built from files here."""
    if shutil.which("ch-run") is None:
        pytest.fail("ch-run is missing: run scripts/install-system-packages.sh "
                    "(charliecloud-runtime)")
    return build_python_image(tmp_path_factory.mktemp("image") / "python-image")


def programs_running(marker: str) -> list[str]:
    """Lines of the process table whose command line holds ``marker``."""
    out = subprocess.run(["ps", "-eo", "pid,pgid,sid,args"], capture_output=True,
                         text=True).stdout
    return [line for line in out.splitlines() if marker in line and "ps -eo" not in line]


@pytest.fixture
def no_leftover() -> Iterator[object]:
    """Fails the test if a program it started with a marker is still running after it."""
    markers: list[str] = []
    yield markers.append
    for marker in markers:
        left = programs_running(marker)
        for line in left:  # clean up before failing, for the next tests
            subprocess.run(["kill", "-9", line.split()[0]], check=False)
        assert not left, "processes left behind:\n" + "\n".join(left)
