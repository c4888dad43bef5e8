"""Run one command inside a container image, on the machine the image is on.

A step of a workflow with ``container_image`` runs its whole job (our runner, its Dask
workers, the application) in the image. The deployer cannot build that command line
on the server: which engine is installed, whether the image is a directory and its
mount points must be checked where the job runs. So the job script calls this module
with the site's own Python and it ``exec``\\ s the engine, with the same command lines
as a task's ``@container`` (:mod:`.containers`)::

    python -m eflows_kernel.engine.launch.container_run --engine auto --image IMG \\
        --bind /work/dir --pass NAME --option=-w -- python -m ... runner ...

``exec`` keeps the job's process: Slurm's signals reach the engine, which hands them
to the runner (``ch-run`` itself becomes the runner).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from eflows_kernel.engine.launch.containers import container_command, engine_executable
from eflows_kernel.model.exceptions import EngineError
from eflows_kernel.model.hpc.spec import ContainerSpec

ENGINES = ("DOCKER", "PODMAN", "SINGULARITY", "APPTAINER", "UDOCKER", "CHARLIECLOUD")


def guess_engine(image: str, env: dict[str, str]) -> str:
    """The engine for an image named by its shape: a directory is a Charliecloud image,
    a ``.sif`` file Singularity's (Apptainer's when only that is installed), anything
    else a Docker-style name (Podman when there is no Docker)."""
    if Path(image).is_dir():
        candidates = ["CHARLIECLOUD"]
    elif image.endswith((".sif", ".simg")):
        candidates = ["SINGULARITY", "APPTAINER"]
    else:
        candidates = ["DOCKER", "PODMAN", "UDOCKER"]
    for engine in candidates:
        try:
            engine_executable(engine, env)
            return engine
        except EngineError:
            continue
    return candidates[0]  # not installed: engine_executable says what to do


_FAMILIES = {"APPTAINER": "SINGULARITY", "PODMAN": "DOCKER"}  # same options


def container_argv(engine: str, image: str, argv: Sequence[str], *, cwd: str,
                   binds: Sequence[str], passed: Sequence[str], options: Sequence[str],
                   env: dict[str, str], options_for: str | None = None) -> list[str]:
    """The engine's command line running ``argv`` in ``image`` (``env`` may gain the
    variables the engine reads, e.g. ``SINGULARITYENV_*``). ``options`` written for
    another engine (``options_for``) are left out, with a note on stderr."""
    engine = guess_engine(image, env) if engine.lower() == "auto" else engine.upper()
    if engine not in ENGINES:
        raise EngineError(f"unknown container engine {engine!r} (one of "
                          f"{', '.join(ENGINES)} or auto)")
    written = (options_for or "").upper()
    if options and written and _FAMILIES.get(written, written) != _FAMILIES.get(engine, engine):
        print(f"eflows: the container options {' '.join(options)!r} are for {written}, "
              f"this site runs {engine}: not passed", file=sys.stderr, flush=True)
        options = ()
    spec = ContainerSpec(engine, image)
    return container_command(spec, list(argv), cwd=cwd, binds=binds, env=env,
                             passed=passed, options=list(options),
                             executable=engine_executable(engine, env))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eflows_kernel.engine.launch.container_run",
                                     description="run a command inside a container image")
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--image", required=True)
    parser.add_argument("--bind", action="append", default=[],
                        help="a host directory seen at the same path inside (repeatable)")
    parser.add_argument("--pass", dest="passed", action="append", default=[],
                        help="an environment variable the command needs inside")
    parser.add_argument("--option", action="append", default=[],
                        help="one word of the engine's own options (repeatable)")
    parser.add_argument("--options-for", default=None,
                        help="the engine the options were written for (others skip them)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to run (give it after --)")
    env = dict(os.environ)
    try:
        full = container_argv(args.engine, os.path.expanduser(args.image), command,
                              cwd=os.getcwd(),
                              binds=[os.path.expanduser(b) for b in args.bind], passed=args.passed,
                              options=args.option, env=env,
                              options_for=args.options_for)
    except EngineError as exc:
        print(f"eflows: the step's container cannot start: {exc}", file=sys.stderr)
        return 127
    print("eflows: running in the container: " + " ".join(full), file=sys.stderr, flush=True)
    os.execvpe(full[0], full, env)
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main())
