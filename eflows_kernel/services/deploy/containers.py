"""A step's ``container_image``: where the image is on the site and how its job enters it.

The whole job of such a step (our runner, its Dask workers, the application) runs in
the image: the job script hands its command to
``eflows_kernel.engine.launch.container_run`` on the site, which picks the engine and
its command line there (the same ones as a task's ``@container``). What is decided
here, on the server:

* **the image**: a path on the site (absolute, ``~/...``, or relative to the run
  directory, e.g. a ``cluster:`` input), or ``<workflow>/<step_id>``, the eFlows4HPC
  image-creation build a TOSCA topology names, which is the ``<step_id>.sif`` its image
  transfer movement put in that movement's target directory;
* **the engine**: ``container_opts.engine``, else the site's ``container_engine``, else
  ``auto`` (from the image's shape, on the site);
* **the options**: ``container_opts.container_opts`` (the engine's own words, as the
  eFlows4HPC plugin passes them), with the engine they were written for when the image
  build says it: the launcher does not pass them to another engine (an image built for
  Singularity run by Charliecloud: they would not parse) and says so in the job's log;
* **what is bound**: the site's work directory (the run directory, the environment our
  runner comes from) and the login's home, at the same paths.

The image's own Python runs the runner (the application finds the image's software),
with the site environment's packages first on its path (``jobs.container_path_lines``):
it must be of the same minor version as the site's environment.

A job of several nodes runs a Dask worker on each, in the image too: Slurm's ``srun``
is the host's, so the job script starts that step itself, outside the image, each of
its tasks entering the image on its node (``allocation_worker_lines``), then enters the
image with the runner, which finds the workers through the step's folder.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eflows_kernel.services.errors import ServiceError
from eflows_kernel.services.workflows import Step, Workflow, render_arguments

LAUNCHER = "eflows_kernel.engine.launch.container_run"
ALLOCATION = "eflows_kernel.engine.allocation"  # its --start-workers: the nodes' workers
ALLOCATION_DIR = "allocation"  # in the run directory: where they find the scheduler
# What the runner and the workers read of the allocation (engines with a clean
# environment, or Singularity's -e, pass only the variables named).
SLURM_PASSED = ("SLURM_JOB_ID", "SLURM_JOBID", "SLURM_JOB_NUM_NODES", "SLURM_NNODES",
                "SLURM_JOB_NODELIST", "SLURM_NODELIST", "SLURM_CPUS_ON_NODE",
                "SLURM_MEM_PER_NODE", "SLURMD_NODENAME")
_KNOWN_OPTIONS = {"engine", "container_opts", "container_compss_path", "binds"}


class ContainerStepError(ServiceError):
    """The step's container cannot be used as asked; the message says what to change."""


@dataclass(frozen=True)
class StepContainer:
    image: str  # on the site
    engine: str = "auto"
    options: tuple[str, ...] = ()
    binds: tuple[str, ...] = ()
    options_for: str | None = None  # the engine the options were written for, if known


def step_container(step: Step, workflow: Workflow, site_engine: str | None, run_dir: str,
                   workdir: str, values: dict[str, Any],
                   note: Callable[[str], None] = lambda _m: None) -> StepContainer | None:
    """The container the step's job runs in (None: the step names no image).

    ``step`` has its templates filled; ``values`` are the inputs as seen on the site
    (for the image transfer's target directory).
    """
    image = (step.container_image or "").strip()
    if not image:
        return None
    opts = dict(step.container_opts)
    for key in sorted(set(opts) - _KNOWN_OPTIONS):
        note(f"container_opts.{key} of step {step.name!r} is not used")
    build = next((c for c in workflow.software.containers
                  if f"{c.workflow}/{c.step_id}" == image), None)
    built_for = str(build.machine.get("container_engine") or "").lower() if build else ""
    if build is not None:
        image = _transferred_image(workflow, step, image, build.step_id, values)
    elif not image.startswith(("/", "~")):
        image = posixpath.join(run_dir, image)
    engine = (opts.get("engine") or site_engine or "auto").lower()
    options = tuple(shlex.split(opts.get("container_opts") or ""))
    binds = ["~", workdir, *(b for b in (opts.get("binds") or "").split(",") if b.strip())]
    return StepContainer(image, engine, options, tuple(b.strip() for b in binds),
                         built_for or None)


def _transferred_image(workflow: Workflow, step: Step, reference: str, step_id: str,
                       values: dict[str, Any]) -> str:
    """Where the image transfer of the step's environment put the build (one build may
    go to several clusters, a transfer each)."""
    transfers = [m for m in workflow.data_movements
                 if m.kind == "image" and m.source == reference and m.target]
    transfers.sort(key=lambda m: m.environment != step.environment)
    for movement in transfers:
        target = render_arguments(movement.target, values)
        return posixpath.join(target, f"{step_id}.sif")
    raise ContainerStepError(
        f"the container image {reference!r} is built by the eFlows4HPC image creation "
        "service and no image transfer brings it to the site: add an image transfer "
        "movement, or give the image's path on the site as container_image")


def launcher_argv(python: str, container: StepContainer, passed: list[str]) -> list[str]:
    """The words before the job's command that run it inside ``container``; ``passed``
    names the variables the job needs inside (engines with a clean environment)."""
    argv = [python, "-m", LAUNCHER, "--engine", container.engine, "--image", container.image]
    for path in container.binds:
        argv += ["--bind", path]
    for name in passed:
        argv += ["--pass", name]
    for word in container.options:
        argv.append(f"--option={word}")
    if container.options_for:
        argv += ["--options-for", container.options_for]
    return [*argv, "--"]


def allocation_worker_lines(python: str, container: StepContainer, image_python: str,
                            run_dir: str, resources: str | None,
                            passed: list[str]) -> tuple[list[str], list[str]]:
    """The job script's lines starting a worker in ``container`` on every node of the
    job (in the background, before the runner enters the image), and the runner's
    options to find them. ``python`` is the site environment's, ``image_python`` the
    image's; ``resources`` what each worker declares beside its node's cores."""
    q = shlex.quote
    folder = posixpath.join(run_dir, ALLOCATION_DIR)
    entry = [*launcher_argv(python, container, passed), image_python]
    start = [python, "-m", ALLOCATION, "--start-workers", folder,
             *(["--resources", resources] if resources else []), "--", *entry]
    lines = [f"rm -rf {q(folder)} && mkdir {q(folder)} || exit 1",  # not a stale address
             " ".join(q(word) for word in start) + " < /dev/null &"]
    return lines, ["--allocation-dir", folder]
