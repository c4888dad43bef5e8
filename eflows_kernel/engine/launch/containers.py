"""Command lines that run a program inside a container image (@container).

The same shapes as COMPSs' container invoker: the task's working directory (and the
directories its files live in) bound at the same path, the working directory as the
container's, the user's ``options`` before the image::

    docker run -i --rm -v WD:WD -w WD [--env K=V] OPTIONS IMAGE prog args
    singularity exec --bind WD:WD --pwd WD OPTIONS IMAGE prog args   (apptainer alike)
    udocker run --rm -v WD:WD -w WD [-e K=V] OPTIONS IMAGE prog args
    ch-run -b WD:WD -c WD OPTIONS IMAGE -- prog args                 (Charliecloud)

Docker, Podman and udocker start from a clean environment, so the variables the
program needs are passed explicitly; Singularity/Apptainer and Charliecloud pass the
host's environment through. Charliecloud images are directories: a bind needs its
mount point inside the image, created here when the image directory is writable.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from eflows_kernel.model.exceptions import EngineError
from eflows_kernel.model.hpc.spec import ContainerSpec

_EXECUTABLES = {
    "DOCKER": ("docker",),
    "PODMAN": ("podman",),
    "SINGULARITY": ("singularity", "apptainer"),
    "APPTAINER": ("apptainer", "singularity"),
    "UDOCKER": ("udocker",),
    "CHARLIECLOUD": ("ch-run",),
}


def engine_executable(engine: str, env: dict[str, str] | None = None) -> str:
    """The engine's program on this worker (``EFLOWS_CONTAINER_<ENGINE>`` overrides)."""
    env = os.environ if env is None else env
    override = env.get(f"EFLOWS_CONTAINER_{engine}")
    if override:
        return override
    for name in _EXECUTABLES[engine]:
        path = shutil.which(name, path=env.get("PATH"))
        if path:
            return path
    raise EngineError(f"the container engine {engine} is not installed on this worker "
                      f"(none of {', '.join(_EXECUTABLES[engine])} is on its PATH); "
                      f"install it or set EFLOWS_CONTAINER_{engine} to its executable")


def container_command(spec: ContainerSpec, argv: list[str], *, cwd: str,
                      binds: Iterable[str], env: dict[str, str], passed: Iterable[str],
                      options: list[str], executable: str | None = None) -> list[str]:
    """``argv`` run in ``spec.image``; ``passed`` names the variables of ``env`` the
    program needs inside (only engines with a clean environment get them explicitly).
    """
    engine = spec.engine
    exe = executable or spec.engine.lower()
    mounts = _unique_dirs([cwd, *binds])
    passed = [name for name in passed if name in env]
    if engine in ("DOCKER", "PODMAN"):
        cmd = [exe, "run", "-i", "--rm"]
        for path in mounts:
            cmd += ["-v", f"{path}:{path}"]
        cmd += ["-w", cwd]
        for name in passed:
            cmd += ["--env", f"{name}={env[name]}"]
        return [*cmd, *options, spec.image, *argv]
    if engine in ("SINGULARITY", "APPTAINER"):
        cmd = [exe, "exec"]
        for path in mounts:
            cmd += ["--bind", f"{path}:{path}"]
        for name in passed:  # host variables pass through, but PATH-like ones are reset
            env[f"SINGULARITYENV_{name}"] = env[name]
            env[f"APPTAINERENV_{name}"] = env[name]
        return [*cmd, "--pwd", cwd, *options, spec.image, *argv]
    if engine == "UDOCKER":
        cmd = [exe, "run", "--rm"]
        for path in mounts:
            cmd += ["-v", f"{path}:{path}"]
        cmd += ["-w", cwd]
        for name in passed:
            cmd += ["-e", f"{name}={env[name]}"]
        return [*cmd, *options, spec.image, *argv]
    if engine == "CHARLIECLOUD":
        image = Path(spec.image)
        cmd = [exe]
        private_tmp = "-t" in options or "--private-tmp" in options
        for path in mounts:
            if not private_tmp and (path == "/tmp" or path.startswith("/tmp/")):
                continue  # ch-run shares the host's /tmp already
            _mount_point(image, path)
            cmd += ["-b", f"{path}:{path}"]
        if not env.get("USER"):  # ch-run refuses to start without it
            env["USER"] = _user_name()
        return [*cmd, "-c", cwd, *options, str(image), "--", *argv]
    raise EngineError(f"unknown container engine {engine}")


def _unique_dirs(paths: Iterable[str]) -> list[str]:
    """The directories, without those already inside another one of the list."""
    dirs = sorted({os.path.realpath(p) for p in paths if p})
    out: list[str] = []
    for path in dirs:
        if not any(path == kept or path.startswith(kept.rstrip("/") + "/") for kept in out):
            out.append(path)
    return out


def _mount_point(image: Path, path: str) -> None:
    target = image / path.lstrip("/")
    if target.is_dir():
        return
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EngineError(
            f"Charliecloud needs the mount point {path} inside the image {image} to bind "
            f"the task's directory, and it cannot be created ({exc.strerror}); create it "
            "in the image (mkdir -p) or make the image directory writable") from None


def _user_name() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return str(os.getuid())
