"""Picking remote runs up again: after a server restart, or from another process.

Remote runs do not depend on the server that started them. A server that starts finds
the unfinished ones in the state database and follows them again: not yet submitted,
they are deployed again (every step is idempotent, transfers resume); submitted, they
are found on the site and followed from the last event the local log has. A site that
cannot be reached is waited for, since the job runs on regardless.
"""

from __future__ import annotations

import logging
import posixpath
import time
from typing import TYPE_CHECKING

from eflows_kernel.services.deploy import pipeline
from eflows_kernel.services.deploy.ownership import FollowedElsewhere
from eflows_kernel.services.deploy.staging import application_source
from eflows_kernel.services.deploy.staging import plan as plan_data
from eflows_kernel.services.errors import NotFoundError
from eflows_kernel.services.executions import Execution, ExecutionState
from eflows_kernel.services.hpc import slurm, ssh
from eflows_kernel.services.workflows import render_arguments

if TYPE_CHECKING:
    from eflows_kernel.services.deploy.remote_executor import RemoteExecutor

log = logging.getLogger(__name__)


class Recovery:
    """The re-attaching half of :class:`RemoteExecutor` (a mixin: it uses its state)."""

    def recover(self: RemoteExecutor) -> None:
        """At start-up: pick up every remote execution an earlier server left unfinished.

        Runs another live process follows (a script with its own client, a second
        server on the same state) are left to it.
        """
        for execution in self.executions.running():
            if execution.site == "local" or execution.id in self._deployments:
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

    def _recover(self: RemoteExecutor, execution: Execution) -> None:
        try:
            site = self.sites.get_by_name(execution.site)
        except NotFoundError:
            self.executions.set_state(execution.id, ExecutionState.FAILED, "site removed",
                                      error=f"site {execution.site!r} no longer exists")
            return
        workflow = self.registry.get(execution.workflow_id).workflow
        values = dict(execution.inputs)
        step = workflow.steps[0]
        submitted = bool(execution.remote_job_id)
        data = plan_data(workflow, values, check_local=not submitted)
        arguments = render_arguments(list(step.arguments), data.values)
        application = ("cluster", "", "") if submitted else application_source(
            workflow, render_arguments(step.application, values))
        dep = self._deployment(execution, site, workflow, data, arguments, application)
        log.info("eflows: re-attaching to execution %s (%s)", execution.id,
                 execution.state.value)
        if not execution.remote_job_id:
            if execution.state == ExecutionState.CANCELLING:
                self.executions.set_state(execution.id, ExecutionState.CANCELLED,
                                          "cancelled before submission")
                self.release(dep)
                return
            # Nothing runs on the site yet, so the log is ours alone to write to. (Once the
            # job runs, its events own the next sequence numbers: we must not take one.)
            dep.log.emit("log", level="INFO", source="deployer",
                         message="the server restarted; deploying again from the start")
            self._start(dep, self._deploy)
            return
        self._start(dep, self._reattach, execution.state)

    def _reattach(self: RemoteExecutor, dep: pipeline.Deployment,
                  state: ExecutionState) -> None:
        """Find the run again; an unreachable site is waited for (the job runs on)."""
        delay = 1.0
        while True:
            try:
                with dep.connection.quick_slot():
                    client = dep.connection.get()
                    workdir = pipeline.resolve_workdir(client, dep.site.config.workdir)
                break
            except (ssh.HostKeyChangedError, ssh.HostKeyNotTrusted,
                    ssh.AuthenticationFailed) as error:  # waiting cannot fix these
                raise pipeline.StepFailed(pipeline.connect_message(dep.site, error)) from None
            except Exception as error:
                if self._closed:
                    return
                log.warning("eflows: cannot reach %s to follow %s (%s); retrying in %.0f s",
                            dep.site.name, dep.execution_id, error, delay)
                time.sleep(delay)
                delay = min(delay * 2, 60.0)
        dep.run_dir = posixpath.join(workdir, "runs", dep.execution_id)
        if state == ExecutionState.STAGING_OUT:
            dep.finalizing = True
            self.finisher.finish(dep, slurm.JobState("COMPLETED"))
            return
        if state == ExecutionState.CANCELLING:
            dep.cancel.set()
            self._send_cancel(dep)
        self._follow(dep)
