"""Fixtures of the HPC task type tests: an MPI program, a container image, a cluster.

Everything is built here from what the Debian packages of
``scripts/system-packages.txt`` install (``mpicc``, ``ch-run``) and from this host's
files: no registry, no download.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hpc import HPC_APPS

IMAGE_MARKER = "inside the eflows test image"


@pytest.fixture(scope="session")
def mpi_hello(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tests/apps/hpc/mpi_hello.c`` compiled with mpicc."""
    if shutil.which("mpicc") is None:
        pytest.fail("mpicc is missing: run scripts/install-system-packages.sh (libopenmpi-dev)")
    binary = tmp_path_factory.mktemp("mpi") / "mpi_hello"
    subprocess.run(["mpicc", "-O2", "-o", str(binary), str(HPC_APPS / "mpi_hello.c")],
                   check=True)
    return binary


def _elf_libraries(paths: list[Path]) -> set[str]:
    libs: set[str] = set()
    for path in paths:
        out = subprocess.run(["ldd", str(path)], capture_output=True, text=True).stdout
        for line in out.splitlines():
            for word in line.split():
                if word.startswith("/") and os.path.exists(word):
                    libs.add(word)
    return libs


def build_python_image(root: Path) -> Path:
    """A Charliecloud image directory made from this host's Debian Python and a few
    tools: the image's own ``python3`` (not the workers'), ``sh``, ``cat``, ``grep``."""
    programs = [Path(shutil.which(name) or name).resolve()
                for name in ("sh", "cat", "grep", "echo", "ls", "env")]
    python = Path("/usr/bin/python3.11")
    if not python.exists():
        pytest.fail("the Debian python3.11 (package python3.11-minimal) is missing")
    stdlib = Path("/usr/lib/python3.11")
    shutil.copytree(stdlib, root / stdlib.relative_to("/"), symlinks=True,
                    ignore=shutil.ignore_patterns("test", "__pycache__", "idlelib"))
    elves = [python, *programs, *sorted((stdlib / "lib-dynload").glob("*.so"))]
    for path in [python, *programs, *map(Path, _elf_libraries(elves))]:
        target = root / str(path).lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    for name in ("sh", "cat", "grep", "echo", "ls", "env"):  # Debian's /bin -> usr/bin
        for where in ("usr/bin", "bin"):
            link = root / where / name
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                link.symlink_to(Path(shutil.which(name) or name).resolve())
    (root / "usr/bin/python3").symlink_to("python3.11")
    for directory in ("tmp", "proc", "dev", "sys", "home", "mnt", "run", "var/tmp", "etc"):
        (root / directory).mkdir(parents=True, exist_ok=True)
    for name in ("passwd", "group", "hosts", "resolv.conf"):  # ch-run binds these
        (root / "etc" / name).touch()
    (root / "etc/eflows-image-marker").write_text(IMAGE_MARKER + "\n")
    return root


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
