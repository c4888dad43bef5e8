"""The executor of configured sites: deploy a step over SSH, follow it live, survive restarts.

:class:`RemoteExecutor` is the :class:`~eflows_kernel.services.executions.executor.Executor`
of every site but ``local``. A run goes ``queued -> staging-in -> submitted -> running ->
staging-out -> done`` (or ``failed``, or ``cancelling -> cancelled``). Its events (the
deployer's stages, transfers, and the task events of the run, copied live from the
site) are in ``<runs_dir>/<id>/events.jsonl``. While a run is followed, it lives in
:class:`~eflows_kernel.services.deploy.runs.RemoteRuns`.

Remote runs do not depend on this server: when it stops they go on, and when it starts
again :meth:`RemoteExecutor.recover` re-attaches to them from the last event it had: not
yet submitted, they are deployed again (every step is idempotent, transfers resume);
submitted, they are found on the site and followed. Runs another live process follows
(a script with its own client, a second server on the same state) are left to it.
"""

from __future__ import annotations

import logging
import posixpath
import shlex
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from eflows_kernel.events import EVENT_LOG, EventStream
from eflows_kernel.services.deploy import pipeline
from eflows_kernel.services.deploy.environment import EnvironmentBuilder
from eflows_kernel.services.deploy.movement_steps import MovementSteps
from eflows_kernel.services.deploy.ownership import FollowedElsewhere, own
from eflows_kernel.services.deploy.runs import RemoteRuns
from eflows_kernel.services.deploy.staging import DataPlan, application_source
from eflows_kernel.services.deploy.staging import plan as plan_data
from eflows_kernel.services.errors import ConflictError, NotFoundError
from eflows_kernel.services.executions import checkpoints
from eflows_kernel.services.executions.executor import Record, Target
from eflows_kernel.services.executions.logs import OUTPUT_LOG, decode_prefix, read_text_chunk
from eflows_kernel.services.executions.plan import ExecutionPlan, StepPlan
from eflows_kernel.services.executions.planning import replan
from eflows_kernel.services.executions.rendering import render_step, with_values
from eflows_kernel.services.executions.store import Execution, ExecutionStore
from eflows_kernel.services.hpc import ssh
from eflows_kernel.services.hpc.connections import ConnectionPool, PooledConnection
from eflows_kernel.services.hpc.transfer import UrlPolicy
from eflows_kernel.services.lifecycle import ExecutionState
from eflows_kernel.services.sites import Site, SiteService
from eflows_kernel.services.transfers import DataLogistics
from eflows_kernel.services.workflows import Step, Workflow, WorkflowRegistry
from eflows_kernel.services.workflows.step_fields import step_dir_key

log = logging.getLogger(__name__)

Application = tuple[str, str, str]  # (kind "local"/"cluster", path, path inside the upload)


class RemoteExecutor:
    """Deploys steps of executions to configured sites and follows them to the end."""

    def __init__(self, executions: ExecutionStore, registry: WorkflowRegistry,
                 sites: SiteService, runs_dir: Path, cache_dir: Path | None = None,
                 wheel: str | None = None, poll_interval: float = 2.0,
                 protected: Sequence[Path] = (), allow_private_urls: bool = False,
                 logistics: DataLogistics | None = None) -> None:
        self.executions = executions
        self.protected = tuple(Path(p) for p in protected)  # never uploaded (staging.py)
        # what stage-in URLs may name (hpc/transfer/url_policy.py)
        self.url_policy = UrlPolicy(allow_private=allow_private_urls)
        self.logistics = logistics  # data services' logins, spool, periodic transfers
        self.registry = registry  # to plan again what a restarted server re-attaches to
        # How a recorded execution was planned: the executions service sets its own
        # (``router.plan_with``), which the graph's driver plans with too.
        self.plans: Callable[[Execution], ExecutionPlan] = self._plan_here
        self.sites = sites
        self.runs_dir = Path(runs_dir)
        self.environments = EnvironmentBuilder(cache_dir or self.runs_dir.parent / "cache",
                                               wheel)
        self.pool = ConnectionPool(self._open)
        self.runs = RemoteRuns(executions, self.runs_dir, self.environments, self.pool,
                               poll_interval)
        # A job's data-service movements as steps of their own (the graph's StepMover).
        self.movements = MovementSteps(executions, sites, self.runs_dir, self._connection,
                                       logistics, self.url_policy, self.protected)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(runs_dir={str(self.runs_dir)!r})"

    def _open(self, site_id: str, credential_id: str | None,
              answers: dict[str, str] | None) -> Any:
        answers = answers or {}
        code = answers.get("otp")
        return self.sites.connect(site_id.split("#", 1)[0], credential_id,
                                  password=answers.get("password"),
                                  otp=(lambda _prompt: code) if code else None)

    # ---- starting ----------------------------------------------------------------------

    def target(self, site: str, credential_id: str | None, login: str | None,
               answers: Mapping[str, str]) -> Target:
        """The configured site, if a deployment there can start (trusted host key, a way
        to log in, the login it has); else what to fix, by field."""
        interactive = bool(answers) or self._has_session(site, credential_id)
        record = pipeline.check_site(self.sites, site, credential_id, login, interactive)
        return Target(record.name, record.config.login, record, dict(answers),
                      place=_place(record))

    def place(self, site: str) -> str | None:
        """Whose files a step on ``site`` sees (``login@host:port``), from its configuration
        alone: a plan made again after a restart needs it whether or not one can log in
        now (a login that asks for a password has no open session then); None for a site
        that no longer exists."""
        try:
            return _place(self.sites.get_by_name(site))
        except NotFoundError:
            return None

    def _has_session(self, site_name: str, credential_id: str | None) -> bool:
        """A login the user answered earlier is still open: no need to ask again."""
        try:
            site_id = self.sites.get_by_name(site_name).id
        except NotFoundError:
            return False
        return self.pool.is_open(site_id, credential_id)

    def start(self, plan: ExecutionPlan, step: StepPlan, target: Target,
              record: Record) -> Execution:
        """Check what can be checked here (local files to upload, the application), record
        the execution, deploy in the background. ``target.answers`` open the site's
        connection if it is not open already, and that one connection then serves every
        step and run; they are never stored."""
        data, arguments, application = self._prepare(plan.workflow, plan.values, step)
        execution = record()
        run_folder = self.runs_dir / execution.id
        run_folder.mkdir(parents=True, exist_ok=True)
        self.executions.set_event_log(execution.id, str(run_folder / EVENT_LOG))
        dep = self._deployment(execution, target.site_record, plan.workflow, step.step, data,
                               arguments, application, dict(target.answers))
        dep.links = _links(step, plan.values)
        dep.synced = plan.synced(step.name)
        self.runs.start(dep, self.runs.deploy)
        return self.executions.get(execution.id)

    def _prepare(self, workflow: Workflow, values: dict[str, Any], step: StepPlan,
                 submitted: bool = False) -> tuple[DataPlan, list[str], Application]:
        """The data to move, the arguments as the application sees them on the site, and
        where the application comes from. A run submitted already (re-attached after a
        restart) is not checked against local files again: they may be gone by now."""
        data = plan_data(workflow, values, check_local=not submitted,
                         protected=self.protected, url_policy=self.url_policy,
                         movements=step.movements, logistics=self.logistics)
        rendered, arguments = render_step(step.step, values, data.values)
        application = ("cluster", "", "") if submitted else application_source(
            workflow, rendered, self.protected)
        return data, arguments, application

    def _deployment(self, execution: Execution, site: Site, workflow: Workflow, step: Step,
                    data: DataPlan, arguments: list[str], application: Application,
                    answers: dict[str, str] | None = None) -> pipeline.Deployment:
        owner = own(self.runs_dir / execution.id)
        if owner is None:
            raise FollowedElsewhere(execution.id)
        runlog = EventStream.resume(execution.id, self.runs_dir / execution.id / EVENT_LOG)
        identity = self._identity(site)
        connection = self._connection(site, execution.credential_id)
        connection.offer(answers)
        # A login that asks the user cannot open more connections: the tail shares it.
        tails = connection if (answers or connection.interactive) else \
            self.runs.tail_connection(site, execution.credential_id, identity)
        dep = pipeline.Deployment(
            execution.id, site, execution.credential_id, workflow, step, data, arguments,
            application, runlog, connection, tails, job_id=execution.remote_job_id,
            owner=owner, url_policy=self.url_policy, logistics=self.logistics,
            resume_from=execution.resumed_from)
        self.runs.add(dep)
        return dep

    def _connection(self, site: Site, credential_id: str | None) -> PooledConnection:
        """The site's pooled connection (one per site and credential)."""
        return self.pool.connection(site.id, credential_id, site.name, self._identity(site))

    @staticmethod
    def _identity(site: Site) -> tuple[Any, ...]:
        """What a pooled connection is for: a changed address or host key opens anew."""
        return (site.config.host, site.config.port, site.config.login,
                site.host_key.fingerprint if site.host_key else None)

    # ---- cancelling --------------------------------------------------------------------

    def cancel(self, execution: Execution) -> Execution:
        """``cancelling`` now; ``cancelled`` once the site confirms the job is gone."""
        runs = self.runs
        with runs.lock:  # the run may have ended since: read it again
            execution = self.executions.get_unfinished(execution.id)
            dep = runs.deployments.get(execution.id)
            if dep is None and execution.remote_job_id:
                # Nobody here follows it (a server that is gone, or another process does):
                # take it over to cancel it, or say who has it.
                try:
                    self._recover(execution)
                except FollowedElsewhere:
                    raise ConflictError(
                        f"execution {execution.id} is followed by another process (a Jupyter "
                        "server or a script on this account): cancel it there",
                        id=execution.id) from None
                dep = runs.deployments.get(execution.id)
            if execution.state == ExecutionState.CANCELLING:
                if dep is not None and dep.job_id:
                    runs.send_cancel_async(dep)  # asked again: send it again
                return execution
            execution = self.executions.set_state(execution.id, ExecutionState.CANCELLING,
                                                  "cancel requested")
            if dep is None:  # never submitted and nothing deploys it: nothing runs
                return self.executions.set_state(execution.id, ExecutionState.CANCELLED,
                                                 "nothing was running")
            dep.cancel.set()
            if dep.job_id:
                runs.send_cancel_async(dep)
            return execution

    # ---- reading -----------------------------------------------------------------------

    def logs(self, execution: Execution, offset: int, size: int | None) -> tuple[str, int]:
        """The job's stdout/stderr from byte ``offset``: from the site while it runs."""
        local = self.runs_dir / execution.id / OUTPUT_LOG
        if local.is_file():
            return read_text_chunk(local, offset, size)
        dep = self.runs.deployments.get(execution.id)
        if dep is None or not dep.run_dir or not dep.job_id:
            return "", offset
        try:
            with dep.connection.get().open_sftp() as sftp, \
                    sftp.open(posixpath.join(dep.run_dir, OUTPUT_LOG), "rb") as handle:
                handle.seek(offset)
                data = handle.read(size if size is not None else 1 << 20)
        except (OSError, ssh.SSHError):
            return "", offset
        text, used = decode_prefix(data)
        return text, offset + used

    def checkpoint_tasks(self, execution: Execution) -> int:
        """The tasks the run's checkpoint on its site holds (its manifest, read over the
        site's pooled connection); 0 when the site or the folder is gone."""
        try:
            site = self.sites.get_by_name(execution.site)
        except NotFoundError:
            return 0
        connection = self.pool.connection(site.id, execution.credential_id, site.name,
                                          self._identity(site))
        client = connection.get()
        workdir = pipeline.resolve_workdir(client, site.config.workdir)
        manifest = posixpath.join(workdir, "runs", execution.id, checkpoints.FOLDER,
                                  checkpoints.MANIFEST)
        status, out, _err = ssh.run(client, f"cat {shlex.quote(manifest)}", timeout=30)
        return checkpoints.count_committed(out) if status == 0 else 0

    # ---- process life ------------------------------------------------------------------

    def recover(self, executions: Sequence[Execution]) -> None:
        """At start-up: pick up the remote executions an earlier server left unfinished."""
        for execution in executions:
            if execution.id in self.runs.deployments:
                continue
            try:
                self._recover(execution)
            except FollowedElsewhere:
                log.info("eflows: execution %s is followed by another process", execution.id)
            except Exception as error:
                log.exception("eflows: cannot re-attach to execution %s", execution.id)
                job = f" (job {execution.remote_job_id} may still run on the site)" \
                    if execution.remote_job_id else ""
                self.executions.set_state(execution.id, ExecutionState.FAILED,
                                          "re-attach failed", error=f"{error}{job}")

    def _recover(self, execution: Execution) -> None:
        try:
            site = self.sites.get_by_name(execution.site)
        except NotFoundError:
            self.executions.set_state(execution.id, ExecutionState.FAILED, "site removed",
                                      error=f"site {execution.site!r} no longer exists")
            return
        # The step as its graph planned it (a step of a graph with the graph's sites and
        # places: alone on its own site, a copy or an image naming another bound site's
        # host would not be planned as it was), filled again with its record's values
        # (the run directories of the steps before it too).
        graph = self.executions.get(execution.parent_id) if execution.parent_id \
            else execution
        plan = self.plans(graph)
        found = [s for s in plan.steps if s.name == execution.step] if execution.step \
            else [plan.entry]
        if not found:
            raise pipeline.StepFailed(f"the plan of execution {graph.id} has no step "
                                      f"{execution.step!r} any more")
        plan, step = with_values(plan, found[0], execution.inputs)
        workflow, values = plan.workflow, plan.values
        submitted = bool(execution.remote_job_id)
        data, arguments, application = self._prepare(workflow, values, step, submitted)
        dep = self._deployment(execution, site, workflow, step.step, data, arguments,
                               application)
        dep.links = _links(step, values)
        dep.synced = plan.synced(step.name)
        log.info("eflows: re-attaching to execution %s (%s)", execution.id,
                 execution.state.value)
        if not submitted:
            if execution.state == ExecutionState.CANCELLING:
                self.executions.set_state(execution.id, ExecutionState.CANCELLED,
                                          "cancelled before submission")
                self.runs.release(dep)
                return
            # Nothing runs on the site yet, so the log is ours alone to write to. (Once the
            # job runs, its events own the next sequence numbers: we must not take one.)
            dep.log.emit("log", level="INFO", source="deployer",
                         message="the server restarted; deploying again from the start")
            self.runs.start(dep, self.runs.deploy)
            return
        self.runs.start(dep, self.runs.reattach, execution.state)

    def _plan_here(self, execution: Execution) -> ExecutionPlan:
        """The recorded execution planned again with the places of this executor's sites
        (what an executor made without the executions service plans with)."""
        return replan(execution, self.registry.get(execution.workflow_id).workflow,
                      self.place)

    def shutdown(self, timeout: float | None = None, cancel: bool = True) -> None:
        """Stop following (the remote runs go on; the next server re-attaches). Remote runs
        never end with this process, whatever ``cancel`` says. Movement steps stop with
        it (their records stay unfinished: the next server does them again, resuming):
        on a site reached through this host's shell their commands would outlive it."""
        self.movements.shutdown(10.0 if timeout is None else timeout)
        self.runs.shutdown(timeout)


def _place(site: Site) -> str:
    config = site.config
    return f"{config.login}@{config.host}:{config.port}"


def _links(step: StepPlan, values: Mapping[str, Any]) -> tuple[str, ...]:
    """The run directories of the step's stage-in movement steps on its site (the graph
    put them in the step's values, which its record keeps for a restart)."""
    missing = [n for n in step.links if not values.get(step_dir_key(n))]
    if missing:
        raise pipeline.StepFailed(f"step {step.name!r}: where the data of "
                                  f"{', '.join(missing)} is on the site is not known")
    return tuple(str(values[step_dir_key(n)]) for n in step.links)


__all__ = ["RemoteExecutor"]
