"""How a run is started on a site and followed: a Slurm batch job, or a direct process.

Both backends take the same job script and answer with :class:`slurm.JobState`, so the
deployer and its monitor do not care which one a site uses. The script is built here:
every value in it passes through :func:`shlex.quote`, whatever a user typed.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import paramiko

from eflows_kernel.compss.job import compss_job_lines
from eflows_kernel.events import EVENT_LOG
from eflows_kernel.services.deploy.containers import (
    SLURM_PASSED,
    StepContainer,
    allocation_worker_lines,
    launcher_argv,
)
from eflows_kernel.services.executions.logs import OUTPUT_LOG
from eflows_kernel.services.hpc import slurm, ssh
from eflows_kernel.services.sites import SiteConfig

SCRIPT_NAME = "job.sh"
_PID_JOB = re.compile(r"^pid:([0-9]+)$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class JobRequest:
    """Everything the job script needs; all of it is quoted when written."""

    run_dir: str  # absolute, on the site
    python: str
    application: str
    arguments: Sequence[str]
    run_id: str
    first_seq: int
    workers: int = 1
    nodes: int | None = None
    cores_per_node: int | None = None  # --cpus-per-task (default: workers)
    time_limit: str | None = None
    qos: str | None = None
    runtime: str = "eflows"  # or "compss": the site's COMPSs runtime runs the application
    runcompss: str = "runcompss"
    runner_options: Sequence[str] = ()  # more runner options (e.g. --slurm-workers N)
    env: Mapping[str, str] = field(default_factory=dict)  # the step's environment variables
    modules: Sequence[str] = ()  # loaded with `module load` (Environment Modules or Lmod)
    python_interpreter: str | None = None  # the COMPSs runtime's Python (runcompss)
    compss_options: Sequence[str] = ()  # more runcompss options (extra_compss_opts)
    container: StepContainer | None = None  # the image the whole job runs in


def job_script(request: JobRequest, direct: bool = False) -> str:
    """A bash script running the application with our runner, event log in the run dir.

    Slurm's exit status is the runner's (``exec``); a direct run records it in
    ``exit_code`` because nobody waits for it.
    """
    q = shlex.quote
    lines = ["#!/bin/bash", "# written by eflows4hpc-jupyter: one run of a registered workflow",
             f"cd {q(request.run_dir)} || exit 1", "export PYTHONUNBUFFERED=1"]
    lines += [f"export {name}={q(value)}" for name, value in request.env.items()
              if _ENV_NAME.match(name)]
    lines += module_lines(request.modules)
    if request.runtime == "compss":
        return "\n".join(lines + compss_job_lines(request)) + "\n"
    # Several nodes: one worker per node (--slurm-allocation in runner_options).
    cluster = [] if "--slurm-allocation" in request.runner_options else [
        "--workers", str(request.workers), "--threads-per-worker", "1"]
    python, inside, noted, found = request.python, [], [], []
    if request.container is None and request.python_interpreter:
        # The runner and its workers run the environment's Python: the runner notes that
        # the step's python_interpreter has no effect, rather than it being dropped unsaid.
        noted = [f"--python_interpreter={request.python_interpreter}"]
    if request.container is not None:
        # The image's own Python runs the runner, so the application finds the software
        # the image carries; our environment's packages come first on its path.
        lines += container_path_lines(request.python)
        python = request.python_interpreter or "python3"
        passed = ["PYTHONUNBUFFERED", "PYTHONPATH",
                  *(n for n in request.env if _ENV_NAME.match(n))]
        if not cluster:  # several nodes: their workers in the image too, started here
            passed += SLURM_PASSED
            starting, found = allocation_worker_lines(
                request.python, request.container, python, request.run_dir,
                _option_value(request.runner_options, "--worker-resources"), passed)
            lines += starting
        inside = launcher_argv(request.python, request.container, passed)
    runner = [*inside, python, "-m", "eflows_kernel.engine.runner", *cluster,
              "--event-log", posixpath.join(request.run_dir, EVENT_LOG),
              "--run-id", request.run_id, "--first-seq", str(request.first_seq),
              *request.runner_options, *found, *noted, request.application,
              *request.arguments]
    command = " ".join(q(part) for part in runner)
    if direct:
        lines += [f"{command} < /dev/null", "echo $? > exit_code.part && mv exit_code.part "
                  "exit_code"]
    else:
        lines.append(f"exec {command}")
    return "\n".join(lines) + "\n"


def _option_value(options: Sequence[str], name: str) -> str | None:
    """The value after ``name`` in a runner's options, if it is there."""
    words = list(options)
    return words[words.index(name) + 1] if name in words[:-1] else None


def container_path_lines(python: str) -> list[str]:
    """Bash lines putting the packages of the environment ``python`` is from on the
    PYTHONPATH (asked of it on the site: its own ``purelib``)."""
    probe = shlex.quote("import sysconfig; print(sysconfig.get_paths()['purelib'])")
    return [f"eflows_packages=$({shlex.quote(python)} -c {probe}) || exit 1",
            'export PYTHONPATH="$eflows_packages${PYTHONPATH:+:$PYTHONPATH}"']


# Where `module` comes from in a batch shell (not a login shell): Lmod's or Environment
# Modules' bash init, whichever the site has.
_MODULE_INITS = ("/etc/profile.d/lmod.sh", "/usr/share/lmod/lmod/init/bash",
                 "/etc/profile.d/modules.sh", "/usr/share/modules/init/bash")


def module_lines(modules: Sequence[str]) -> list[str]:
    """Bash lines loading ``modules`` before the run; a module that fails ends the job."""
    if not modules:
        return []
    q = shlex.quote
    inits = " ".join(_MODULE_INITS)
    lines = [f"if ! type module >/dev/null 2>&1; then for f in {inits}; do "
             'if [ -f "$f" ]; then . "$f"; break; fi; done; fi',
             "if ! type module >/dev/null 2>&1; then echo 'eflows: the step loads modules "
             "but the site has no module command (Environment Modules or Lmod)' >&2; "
             "exit 1; fi"]
    for module in modules:
        failed = q(f"eflows: module load {module} failed")
        lines.append(f"module load {q(module)} || {{ echo {failed} >&2; exit 1; }}")
    return lines


class SlurmJobs:
    """Runs go through ``sbatch``; states from ``squeue``/``scontrol``."""

    kind = "slurm"

    def __init__(self, site: SiteConfig) -> None:
        self.site = site

    def submit(self, client: paramiko.SSHClient, request: JobRequest, name: str) -> str:
        return slurm.submit(
            client, job_script(request), request.run_dir, name,
            partition=self.site.partition, qos=request.qos or self.site.qos,
            account=self.site.account, nodes=request.nodes,
            time_limit=request.time_limit or self.site.time_limit,
            cpus_per_task=request.cores_per_node or request.workers,
            output=posixpath.join(request.run_dir, OUTPUT_LOG), script_name=SCRIPT_NAME)

    @staticmethod
    def find(client: paramiko.SSHClient, name: str) -> str | None:
        """The id of a job of ours with that name the controller still knows, if any."""
        return slurm.find_job(client, name)

    @staticmethod
    def states(client: paramiko.SSHClient, jobs: dict[str, str]) -> dict[str, slurm.JobState]:
        """``jobs``: job id -> run dir."""
        return slurm.states(client, list(jobs))

    @staticmethod
    def cancel(client: paramiko.SSHClient, job_id: str, run_dir: str) -> None:
        slurm.cancel(client, job_id)


class DirectJobs:
    """Sites without a scheduler: the script runs detached (own session) on the login host."""

    kind = "none"

    def __init__(self, site: SiteConfig) -> None:
        self.site = site

    @staticmethod
    def find(client: paramiko.SSHClient, name: str) -> str | None:
        return None  # a direct start is one command: it is done or it is not

    def submit(self, client: paramiko.SSHClient, request: JobRequest, name: str) -> str:
        q = shlex.quote
        script = posixpath.join(request.run_dir, SCRIPT_NAME)
        with client.open_sftp() as sftp, sftp.open(script, "w") as handle:
            handle.write(job_script(request, direct=True).encode())
        command = (f"cd {q(request.run_dir)} && chmod 700 {SCRIPT_NAME} && "
                   f"nohup setsid ./{SCRIPT_NAME} > {OUTPUT_LOG} 2>&1 < /dev/null & echo $!")
        status, out, err = ssh.run(client, command)
        pid = out.strip().splitlines()[-1] if out.strip() else ""
        if status != 0 or not pid.isdigit():
            raise slurm.SlurmError(f"could not start the run on the site: {err.strip() or out}")
        return f"pid:{pid}"

    @staticmethod
    def states(client: paramiko.SSHClient, jobs: dict[str, str]) -> dict[str, slurm.JobState]:
        """``jobs``: job id -> run dir (where the exit code and cancel mark are).

        One remote command for all of them, like one ``squeue`` for a Slurm site.
        """
        q = shlex.quote
        probes = []
        for job_id, run_dir in jobs.items():
            match = _PID_JOB.match(job_id)
            if match is None:
                continue
            d = q(run_dir)
            probes.append(
                # The exit code is the truth once written; a cancel mark only counts once
                # the process is gone (a pid may be reused, a cancel may not have landed).
                f"printf '%s ' {q(job_id)}; if test -f {d}/exit_code; then "
                f"if test -f {d}/cancelled; then echo CANCELLED; "
                f"else echo EXIT $(cat {d}/exit_code); fi; "
                f"elif kill -0 {match.group(1)} 2>/dev/null; then echo RUNNING; "
                f"elif test -f {d}/cancelled; then echo CANCELLED; "
                "else echo GONE; fi")
        if not probes:
            return {}
        _status, out, _err = ssh.run(client, "; ".join(probes))
        result = {}
        for line in out.splitlines():
            words = line.split()
            if len(words) < 2 or words[0] not in jobs:
                continue
            job_id, word = words[0], words[1]
            if word == "CANCELLED":
                result[job_id] = slurm.JobState("CANCELLED", slurm.CANCEL_MARK)
            elif word == "RUNNING":
                result[job_id] = slurm.JobState("RUNNING")
            elif word == "GONE":
                result[job_id] = slurm.JobState("FAILED", "the process ended without an exit "
                                                "code (killed on the site)")
            else:
                raw = words[2] if len(words) > 2 else "1"
                code = int(raw) if raw.lstrip("-").isdigit() else 1
                result[job_id] = slurm.JobState("COMPLETED" if code == 0 else "FAILED",
                                                None, code)
        return result

    @staticmethod
    def cancel(client: paramiko.SSHClient, job_id: str, run_dir: str) -> None:
        match = _PID_JOB.match(job_id)
        if match is None:
            raise slurm.JobNotFound(f"not a direct-run job id: {job_id!r}")
        pid = match.group(1)
        ssh.run(client, f"touch {shlex.quote(run_dir)}/cancelled; "
                        f"kill -TERM -- -{pid} 2>/dev/null; true")


def backend_for(site: SiteConfig) -> SlurmJobs | DirectJobs:
    return SlurmJobs(site) if site.scheduler == "slurm" else DirectJobs(site)
