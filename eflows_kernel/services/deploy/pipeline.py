"""The steps of one remote execution before its job runs: connect, environment, stage-in, submit.

Each step is announced as a ``stage`` event in the execution's log and moves the
execution's state; the first failure ends the execution FAILED with a message that
tells the user what to do (authorize the key, trust the new host key, fix a path),
before anything was submitted. Every step can be redone: a server that restarts during
them runs the pipeline again and resumable transfers pick up where they stopped. The
record the steps move on, their ``stage`` events and their errors are ``deployment.py``'s
(named here too, as the callers know them).
"""

from __future__ import annotations

import logging
import posixpath
import shlex
from pathlib import Path
from typing import Any

import paramiko

from eflows_kernel.events import EVENT_LOG
from eflows_kernel.services.deploy.allocation import allocation_for, exec_time_limit
from eflows_kernel.services.deploy.containers import (
    ContainerStepError,
    StepContainer,
    step_container,
)
from eflows_kernel.services.deploy.deployment import Cancelled, Deployment, StepFailed, stage
from eflows_kernel.services.deploy.environment import EnvironmentBuilder
from eflows_kernel.services.deploy.jobs import JobRequest, backend_for
from eflows_kernel.services.deploy.movements import bring_in
from eflows_kernel.services.errors import NotFoundError, ServiceError, ValidationError
from eflows_kernel.services.executions import checkpoints
from eflows_kernel.services.hpc import ssh
from eflows_kernel.services.hpc.transfer import (
    stage_in,
    stage_in_cluster_path,
    stage_in_url,
)
from eflows_kernel.services.sites import Site, SiteService
from eflows_kernel.services.workflows import (
    ArgumentRenderError,
    render_arguments,
)

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 2  # Dask workers of a run (and Slurm CPUs per task) unless the step says


def check_site(sites: SiteService, name: str, credential_id: str | None,
               login: str | None, interactive: bool = False) -> Site:
    """The site to deploy to, if a deployment there can start; else what to fix, by field.

    (That the credential exists was checked by the executions service.)
    """
    try:
        site = sites.get_by_name(name)
    except NotFoundError:
        raise ValidationError(f"no site named {name!r}",
                              fields={"site": f"no site named {name!r}"}) from None
    if site.config.is_local:  # this host: no host key, no credential, the server's login
        credential_id, interactive = None, True
    elif site.host_key is None:
        message = (f"the host key of site {name!r} is not trusted yet: scan the site and "
                   "confirm its fingerprint first")
        raise ValidationError(message, fields={"site": message})
    if credential_id is None and not interactive:
        message = (f"a credential (or the password / one-time code of the login) is needed "
                   f"to log in to site {name!r}")
        raise ValidationError(message, fields={"credential_id": message})
    if login and login != site.config.login:
        message = (f"site {name!r} logs in as {site.config.login!r}, not {login!r}: add a "
                   "site for that account")
        raise ValidationError(message, fields={"login": message})
    return site


def connect_message(site: Site, error: Exception) -> str:
    """What to do about a failed connection, in the user's words."""
    where = f"{site.config.login}@{site.config.host}:{site.config.port}"
    if isinstance(error, ssh.HostKeyChangedError):
        return (f"{error}. Nothing was sent. If the site was reinstalled, scan it again and "
                "trust the new fingerprint (after checking it with the site's administrators);"
                " otherwise do not connect and tell them")
    if isinstance(error, ssh.HostKeyNotTrusted):
        return f"{error}. Nothing was sent"
    if isinstance(error, ssh.AuthenticationFailed):
        return (f"{error}. Authorize the credential on site {site.name!r} first (it adds the "
                f"public key to {where}'s ~/.ssh/authorized_keys), then run again")
    return f"cannot reach site {site.name!r} ({where}): {error}"


def resolve_workdir(client: paramiko.SSHClient, workdir: str) -> str:
    """The site's work dir as an absolute path (``~`` does not expand inside quotes)."""
    if workdir.startswith("/"):
        return workdir.rstrip("/") or "/"
    status, out, err = ssh.run(client, 'printf %s "$HOME"', timeout=30)
    home = out.strip()
    if status != 0 or not home.startswith("/"):
        raise StepFailed(f"cannot find the login's home directory on the site: {err.strip()}")
    relative = workdir[1:].lstrip("/") if workdir.startswith("~") else workdir
    return posixpath.join(home, relative) if relative else home


def job_name(execution_id: str) -> str:
    """The job's name on the site: the execution id, so a lost job id can be found again."""
    return f"eflows-{execution_id}"


def _check_cancel(dep: Deployment) -> None:
    if dep.cancel.is_set():
        raise Cancelled


def prepare(dep: Deployment, environments: EnvironmentBuilder) -> JobRequest:
    """Connect, environment, stage-in: the job request ready to submit."""
    runlog, site = dep.log, dep.site
    dep.stage = "connect"
    stage(runlog, "connect", "running",
                 f"{site.config.login}@{site.config.host}:{site.config.port}")
    try:
        client = dep.connection.get()
    except ssh.SSHError as error:
        raise StepFailed(connect_message(site, error)) from None
    workdir = resolve_workdir(client, site.config.workdir)
    dep.run_dir = posixpath.join(workdir, "runs", dep.execution_id)
    # The event log exists before the job does: ``tail -F`` on a missing file falls back
    # to polling once a second for its whole life (GNU tail), which would be the latency.
    # umask 077: the run's folders (and runs/ itself, when new) are the login's alone
    ssh.run(client, f"umask 077 && mkdir -p {shlex.quote(dep.run_dir)} && "
                    f"touch {shlex.quote(posixpath.join(dep.run_dir, EVENT_LOG))}", timeout=30)
    stage(runlog, "connect", "done", f"run directory {dep.run_dir}", run_dir=dep.run_dir)
    _check_cancel(dep)

    dep.stage = "environment"
    stage(runlog, "environment", "running")
    software = dep.workflow.software
    if dep.step.container_image and software.pip:
        # The image brings the step's software: our environment holds only the runner.
        runlog.emit("log", level="INFO", source="deployer", message=(
            f"step {dep.step.name!r} runs in its container image: the workflow's pip needs "
            f"({', '.join(software.pip)}) are the image's, not installed on the site"))
        software = software.model_copy(update={"pip": []})
    env = environments.prepare(
        client, site.config, workdir, software,
        note=lambda message: runlog.emit("log", level="INFO", message=message,
                                         source="deployer"))
    stage(runlog, "environment", "done", env.detail, python=env.python, created=env.created)
    _check_cancel(dep)

    dep.stage = "stage-in"
    stage(runlog, "stage-in", "running")
    if dep.resume_from:
        _copy_checkpoint(dep, client)
    _link_moved(dep, client)
    application = _stage_application(dep, client)
    count = _stage_data(dep, client)
    stage(runlog, "stage-in", "done", f"{count} item(s) staged in", items=count)
    _check_cancel(dep)
    step = dep.step
    container = _container(dep, workdir)
    # Nodes and cores from the step and the tasks' declared needs (MPI processes...);
    # scaling out, one core and the worker jobs' options. In a container image, the
    # workers of a job of several nodes start in it on each node (containers.py).
    allocation = allocation_for(step, dep.application, site.config, DEFAULT_WORKERS)
    nodes, workers = allocation.nodes, allocation.workers
    options = list(allocation.runner_options)
    compss_options, time_limit = shlex.split(step.extra_compss_opts or ""), step.time_limit
    if site.config.scheduler == "slurm":  # --exec_time sizes the job, as enqueue_compss's
        try:
            time_limit, compss_options, said = exec_time_limit(time_limit, compss_options)
        except ValueError as error:
            raise StepFailed(f"step {step.name!r}: {error}") from None
        if said:
            runlog.emit("log", level="INFO", source="deployer", message=said)
    if site.config.runtime == "eflows" and compss_options:
        # Our runner takes runcompss' options too (honoured, or noted as no effect).
        options += ["--submitted-job", *compss_options]
    if site.config.runtime != "compss":  # COMPSs takes its own from extra_compss_opts
        # after the step's own: the checkpoint folder is always this run's (resumable)
        options += checkpoints.runner_options(step, dep.run_dir)
    return JobRequest(run_dir=dep.run_dir, python=env.python, application=application,
                      arguments=dep.arguments, run_id=dep.execution_id, first_seq=0,
                      workers=workers, nodes=nodes, qos=step.qos,
                      cores_per_node=allocation.cores_per_node,
                      time_limit=time_limit, env=dict(step.env),
                      modules=list(step.compss_modules),
                      python_interpreter=step.python_interpreter,
                      compss_options=compss_options,
                      runtime=site.config.runtime, runcompss=site.config.runcompss,
                      runner_options=options, container=container)


def _container(dep: Deployment, workdir: str) -> StepContainer | None:
    """The image the step's job runs in, checked to be on the site (None: no image)."""
    step, site = dep.step, dep.site
    if not step.container_image:
        return None
    template = dep.workflow.step(step.name).container_image
    values = dep.plan.values if dep.plan is not None else {}
    try:  # rendered again with the inputs as the site sees them (a staged path input)
        image = render_arguments(template or "", values) if template else None
        container = step_container(step.model_copy(update={"container_image": image}),
                                   dep.workflow, site.config.container_engine, dep.run_dir,
                                   workdir, values, note=lambda message: dep.log.emit(
                                       "log", level="WARNING", message=message,
                                       source="deployer"))
    except (ArgumentRenderError, ContainerStepError) as error:
        raise StepFailed(f"step {step.name!r}: {error}") from None
    if container is None:
        return None
    if site.config.runtime == "compss":
        raise StepFailed(f"step {step.name!r} names a container image, and site "
                         f"{site.name!r} runs the COMPSs runtime: container steps run with "
                         "eflows' runner (set the site's runtime to 'eflows')")
    client = dep.connection.get()
    path = container.image
    probe = f'"$HOME"/{shlex.quote(path[2:])}' if path.startswith("~/") else shlex.quote(path)
    status, _out, _err = ssh.run(client, f"test -e {probe}", timeout=30)
    if status != 0:
        raise StepFailed(f"the container image {path} of step {step.name!r} is not on site "
                         f"{site.name!r}: put it there (or stage it in) first")
    return container


def _copy_checkpoint(dep: Deployment, client: paramiko.SSHClient) -> None:
    """The earlier run's checkpoint, copied on the site into this run's folder (the
    earlier run keeps its own); a checkpoint gone since is a failure, not a fresh start."""
    source = posixpath.join(posixpath.dirname(dep.run_dir), dep.resume_from or "",
                            checkpoints.FOLDER)
    target = posixpath.join(dep.run_dir, checkpoints.FOLDER)
    q = shlex.quote
    status, _out, err = ssh.run(client, f"test -d {q(source)} && rm -rf {q(target)} && "
                                        f"cp -a {q(source)} {q(target)}", timeout=600)
    if status != 0:
        raise StepFailed(f"cannot resume from run {dep.resume_from}: its checkpoint "
                         f"{source} is not on site {dep.site.name!r} any more "
                         f"({err.strip() or 'missing'}); re-run without resuming")
    dep.log.emit("log", level="INFO", source="deployer",
                 message=f"resuming from the checkpoint of run {dep.resume_from}")


def _link_moved(dep: Deployment, client: paramiko.SSHClient) -> None:
    """What the job's stage-in movement steps brought, each into its own run directory,
    linked into the job's (hard links: no second copy; a copy where links cannot be)."""
    q = shlex.quote
    for source in dep.links:
        status, _out, err = ssh.run(
            client, f"cp -alf {q(source)}/. {q(dep.run_dir)}/ 2>/dev/null || "
                    f"cp -af {q(source)}/. {q(dep.run_dir)}/", timeout=600)
        if status != 0:
            raise StepFailed(f"cannot link the staged-in data of {source} into the run "
                             f"directory: {err.strip()}")
        dep.log.emit("log", level="INFO", source="deployer",
                     message=f"linked the data staged in at {source} into the run directory")


def _stage_application(dep: Deployment, client: paramiko.SSHClient) -> str:
    kind, path, inside = dep.application
    if kind == "cluster" and dep.step.container_image:
        return path  # inside the step's image
    if kind == "cluster":
        status, _out, _err = ssh.run(client, f"test -f {shlex.quote(path)}", timeout=30)
        if status != 0:
            raise StepFailed(f"the application {path} is neither on this machine nor on the "
                             "site: register the workflow with its source folder")
        return path
    app_dir = posixpath.join(dep.run_dir, "app")
    stage_in(client, path, app_dir, dep.log)
    uploaded = posixpath.join(app_dir, Path(path).name)
    return posixpath.join(uploaded, inside) if inside else uploaded


def _stage_data(dep: Deployment, client: paramiko.SSHClient) -> int:
    plan = dep.plan
    if plan is None:
        return 0
    for name, path in plan.cluster_paths:
        target = path if path.startswith("/") else posixpath.join(dep.run_dir, path)
        status, _out, _err = ssh.run(client, f"test -e {shlex.quote(target)}", timeout=30)
        if status != 0:
            raise StepFailed(f"input {name!r}: {path} does not exist on site "
                             f"{dep.site.name!r}; check the path (relative paths are relative "
                             "to the run directory), or give a local file to upload")
    for item in plan.stage_in:
        target = posixpath.join(dep.run_dir, item.target_dir)
        try:
            if item.kind == "local":
                streams = dep.site.config.transfer_streams
                parallel = None if dep.connection.interactive or streams < 2 \
                    else dep.connection.fresh
                stage_in(client, item.source, target, dep.log, connect=parallel,
                         streams=streams)
            elif item.kind == "http":
                stage_in_url(client, item.source, target, dep.log, policy=dep.url_policy,
                             name=item.file_name)
            elif item.kind == "data":
                _stage_in_data(dep, client, item.name, item.location, item.target_dir)
            else:
                source = item.source if item.source.startswith("/") else posixpath.join(
                    dep.run_dir, item.source)
                stage_in_cluster_path(client, source, target, dep.log)
        except ServiceError as error:
            raise StepFailed(f"staging in {item.name!r} from {item.source} failed: "
                             f"{error.message}") from None
        _check_cancel(dep)
    return len(plan.stage_in) + len(plan.cluster_paths)


def _stage_in_data(dep: Deployment, client: paramiko.SSHClient, name: str,
                   location: Any, target_dir: str) -> None:
    """A data service's file or folder, through this server, into the site's target."""
    target = target_dir if target_dir.startswith("/") else posixpath.join(dep.run_dir,
                                                                          target_dir)
    movement = next((m for m in dep.workflow.data_movements if m.name == name), None)
    bring_in(client, dep.logistics, dep.execution_id, name, location, target, movement,
             dep.log)


def submit(dep: Deployment, request: JobRequest) -> str:
    """Send the job; its events continue the log's numbering after two of ours."""
    runlog = dep.log
    dep.stage = "submit"
    stage(runlog, "submit", "running")
    request = JobRequest(**{**request.__dict__, "first_seq": runlog.last_seq + 3})
    backend = backend_for(dep.site.config)
    name = job_name(dep.execution_id)
    try:
        client = dep.connection.get()
        job_id = backend.find(client, name)  # submitted already, by a server that crashed
        if job_id is None:
            job_id = backend.submit(client, request, name)
    except ServiceError as error:
        raise StepFailed(f"the site refused the job: {error.message}") from None
    what = f"Slurm job {job_id}" if backend.kind == "slurm" else f"process {job_id}"
    stage(runlog, "submit", "done", what, job_id=job_id)
    stage(runlog, "queued", "running", f"{what} waits for resources")
    dep.job_id = job_id
    return job_id
