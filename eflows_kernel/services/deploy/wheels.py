"""What the cluster's Python environment is built from, prepared on the Jupyter side.

The cluster gets the project's own wheel (so the run uses exactly the code the server
has) and the runner's dependencies pinned to the versions installed here (so a Dask
scheduler started on the Jupyter side and workers on the cluster speak the same
protocol). For clusters without internet access, a *wheelhouse* of all of it is
downloaded here for the cluster's Python version, CPU and glibc, then uploaded.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eflows_kernel.about import SOURCE_ROOT
from eflows_kernel.services.errors import ServiceError

DISTRIBUTION = "eflows4hpc-jupyter"
RUNTIME_PACKAGES = ("dask", "distributed", "cloudpickle", "pydantic", "psutil", "pyyaml",
                    "dask-jobqueue")  # the last one: runs that place workers as Slurm jobs
_SOURCE_DIRS = ("eflows_kernel", "extension")
_build_lock = threading.Lock()


class SiteEnvironmentError(ServiceError):
    """The cluster's Python environment cannot be prepared (HTTP 502: the site's side)."""

    status = 502


@dataclass(frozen=True)
class TargetPython:
    """The cluster's interpreter, as ``pip download`` needs to know it."""

    major: int
    minor: int
    machine: str  # x86_64, aarch64...
    glibc: tuple[int, int] | None

    @classmethod
    def parse(cls, text: str) -> TargetPython:
        """From the probe's output: ``3 11 x86_64 glibc 2.36``."""
        parts = text.split()
        if len(parts) < 3:
            raise SiteEnvironmentError(f"cannot read the site's Python version from {text!r}")
        glibc = None
        if len(parts) >= 5 and parts[3] == "glibc":
            major, _, minor = parts[4].partition(".")
            glibc = (int(major), int(minor or 0))
        return cls(int(parts[0]), int(parts[1]), parts[2], glibc)

    PROBE = ("import sys, platform; v = platform.libc_ver(); "
             "print(sys.version_info[0], sys.version_info[1], platform.machine(), "
             "v[0] or 'none', v[1] or '0')")

    def pip_options(self) -> list[str]:
        """``pip download`` options selecting binary wheels this interpreter can install."""
        tag = f"cp{self.major}{self.minor}"
        options = ["--only-binary=:all:", "--python-version", f"{self.major}.{self.minor}",
                   "--implementation", "cp", "--abi", tag, "--abi", "abi3", "--abi", "none"]
        platforms = [f"linux_{self.machine}"]
        if self.glibc is not None and self.glibc[0] == 2:
            platforms += [f"manylinux_2_{m}_{self.machine}" for m in range(5, self.glibc[1] + 1)]
            legacy = {5: "manylinux1", 12: "manylinux2010", 17: "manylinux2014"}
            platforms += [f"{name}_{self.machine}" for m, name in legacy.items()
                          if m <= self.glibc[1]]
        for platform in platforms:
            options += ["--platform", platform]
        return options


def runtime_requirements(extra: Sequence[str] = ()) -> list[str]:
    """The runner's dependencies, pinned to this side's versions, then the workflow's."""
    pins = []
    for name in RUNTIME_PACKAGES:
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pins.append(name)
    return pins + [r for r in extra if r not in pins]


def _source_root() -> Path | None:
    root = SOURCE_ROOT
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and DISTRIBUTION in pyproject.read_text(errors="replace"):
        return root
    return None


def _source_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "README.md"):
        if (root / name).is_file():
            digest.update((root / name).read_bytes())
    for top in _SOURCE_DIRS:
        for path in sorted((root / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def project_wheel(cache_dir: Path, configured: str | os.PathLike[str] | None = None) -> Path:
    """The project's wheel: the one a site operator configured, or built from this source.

    Built wheels are cached by a digest of the sources, so a server builds once and a
    changed checkout (development) gets a new wheel, hence a new environment.
    """
    if configured:
        wheel = Path(configured)
        if not wheel.is_file():
            raise SiteEnvironmentError(f"the configured project wheel {wheel} does not exist")
        return wheel
    root = _source_root()
    if root is None:
        raise SiteEnvironmentError(
            "cannot find the project's wheel to install on the site: this installation has "
            "no source tree; set EflowsExtension.remote_wheel to the "
            f"{DISTRIBUTION} wheel file, or use python mode 'existing' for the site")
    target = cache_dir / "wheels" / _source_digest(root)
    with _build_lock:
        found = sorted(target.glob("*.whl")) if target.is_dir() else []
        if found:
            return found[0]
        staging = Path(tempfile.mkdtemp(prefix=".build-", dir=_mkdir(cache_dir / "wheels")))
        try:
            _pip(["wheel", "--no-deps", "--quiet", "-w", str(staging), str(root)],
                 "build the project's wheel")
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return sorted(target.glob("*.whl"))[0]


def wheelhouse(cache_dir: Path, target: TargetPython, requirements: Sequence[str],
               wheel: Path) -> Path:
    """A folder with every wheel the site needs to install offline (cached per target)."""
    key = hashlib.sha256(repr((target, sorted(requirements), wheel.name,
                               wheel.stat().st_size)).encode()).hexdigest()[:16]
    folder = cache_dir / "wheelhouses" / key
    with _build_lock:
        if (folder / ".complete").is_file():
            return folder
        staging = Path(tempfile.mkdtemp(prefix=".download-",
                                        dir=_mkdir(cache_dir / "wheelhouses")))
        try:
            _pip(["download", "--quiet", "-d", str(staging), *target.pip_options(),
                  *requirements], "download the wheels for the site's Python "
                 f"{target.major}.{target.minor} ({target.machine})")
            shutil.copy2(wheel, staging / wheel.name)
            (staging / ".complete").write_text("")
            if folder.exists():
                shutil.rmtree(folder)
            staging.rename(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pip(args: list[str], what: str) -> None:
    result = subprocess.run([sys.executable, "-m", "pip", *args, "--disable-pip-version-check"],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-8:])
        raise SiteEnvironmentError(f"could not {what} on the Jupyter side:\n{tail}")
