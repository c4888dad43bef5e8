"""A Charliecloud image (a directory) built from this host's Debian Python and a few
tools, no registry and no download: used by the @container task tests and by the
container step deployed to the test cluster (tests/deploy)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

IMAGE_MARKER = "inside the eflows test image"


def _elf_libraries(paths: list[Path]) -> set[str]:
    libs: set[str] = set()
    for path in paths:
        out = subprocess.run(["ldd", str(path)], capture_output=True, text=True).stdout
        for line in out.splitlines():
            for word in line.split():
                if word.startswith("/") and os.path.exists(word):
                    libs.add(word)
    return libs


def build_python_image(root: Path, libraries_for: Sequence[Path] = ()) -> Path:
    """A Charliecloud image directory made from this host's Debian Python and a few
    tools: the image's own ``python3`` (not the workers'), ``sh``, ``bash``, ``cat``...

    ``libraries_for``: folders whose compiled modules (``*.so``) must load in the image
    too (a virtualenv's site-packages, run with the image's Python): the system
    libraries they link to are copied in."""
    programs = [Path(shutil.which(name) or name).resolve()
                for name in ("sh", "bash", "cat", "grep", "echo", "ls", "env")]
    python = Path("/usr/bin/python3.11")
    if not python.exists():
        pytest.fail("the Debian python3.11 (package python3.11-minimal) is missing")
    stdlib = Path("/usr/lib/python3.11")
    shutil.copytree(stdlib, root / stdlib.relative_to("/"), symlinks=True,
                    ignore=shutil.ignore_patterns("test", "__pycache__", "idlelib"))
    elves = [python, *programs, *sorted((stdlib / "lib-dynload").glob("*.so"))]
    for folder in libraries_for:
        elves += sorted(folder.rglob("*.so"))
    for path in [python, *programs, *map(Path, _elf_libraries(elves))]:
        target = root / str(path).lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    for name in ("sh", "bash", "cat", "grep", "echo", "ls", "env"):  # Debian's /bin -> usr/bin
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
