"""The end of a remote execution: drain its events, stage out, record how it ended.

When the scheduler says the job is over, the last events may still be on their way:
the tail gets a short grace to deliver the run's final event. A job that ended without
one (killed by Slurm, by an administrator, out of time) gets a ``run`` event written
here with Slurm's reason, so the task graph and the execution tell the same story.
"""

from __future__ import annotations

import json
import logging
import posixpath
import shlex
import time
from pathlib import Path
from typing import Any, Protocol

import paramiko

from eflows_kernel.events import EVENT_LOG, TERMINAL_TASK_STATES, read_events
from eflows_kernel.services.deploy import pipeline
from eflows_kernel.services.deploy.movements import STAGE_OUT_ATTEMPTS, send_out
from eflows_kernel.services.deploy.periodic import stop_periodic
from eflows_kernel.services.errors import ServiceError
from eflows_kernel.services.executions import ExecutionState
from eflows_kernel.services.executions.logs import OUTPUT_LOG, log_tail
from eflows_kernel.services.executions.outputs_check import missing_outputs
from eflows_kernel.services.executions.store import ExecutionStore
from eflows_kernel.services.hpc import slurm, ssh
from eflows_kernel.services.hpc.transfer import TransferError, TransferResult, stage_out
from eflows_kernel.services.paths import UnsafePath, within
from eflows_kernel.services.transfers import Location

log = logging.getLogger(__name__)

FORGOTTEN = "the scheduler no longer knows the job"
DRAIN_GRACE = 15.0  # seconds the tail gets, after the job ended, to deliver the last events
DRAIN_QUIET = 3.0  # ... or until the log was quiet that long (a killed run writes no end)


class RunControl(Protocol):
    """What ending a run needs of whoever follows it (``runs.RemoteRuns``)."""

    executions: ExecutionStore
    runs_dir: Path

    def set_state(self, dep: pipeline.Deployment, state: ExecutionState, detail: str,
                  error: str | None = None) -> None: ...
    def release(self, dep: pipeline.Deployment) -> None: ...
    def on_event_seen(self, dep: pipeline.Deployment, event: dict[str, Any]) -> None: ...


class Finisher:
    """Ends the runs that ``control`` follows, once their job is over."""

    def __init__(self, control: RunControl) -> None:
        self.control = control

    def finish(self, dep: pipeline.Deployment, job: slurm.JobState) -> None:
        self._drain(dep)  # needs no slot: the tail has its own connection
        stop_periodic(dep)  # (may wait for a sync still running: it has its own session)
        with dep.connection.quick_slot():
            self._finish(dep, job)

    def _finish(self, dep: pipeline.Deployment, job: slurm.JobState) -> None:
        ex = self.control
        if dep.run_final is None:
            self._catch_up(dep)
        if job.reason == FORGOTTEN and dep.run_final is not None:
            # The scheduler forgot the job but its log says how it ended: that counts.
            job = slurm.JobState("COMPLETED" if dep.run_final.get("state") == "done"
                                 else "FAILED")
        cancelled_by_us = dep.cancel.is_set() or (
            ex.executions.get(dep.execution_id).state == ExecutionState.CANCELLING)
        output = self._fetch_output(dep)
        final = dep.run_final or {}
        if cancelled_by_us and (job.state == "CANCELLED" or job.reason == FORGOTTEN):
            self._close_run(dep, "cancelled", job.reason or "cancelled")
            pipeline.stage(dep.log, "cancel", "done", job.reason or "job cancelled")
            ex.set_state(dep, ExecutionState.CANCELLED,
                            job.reason or f"job {dep.job_id} cancelled")
        elif job.state == "COMPLETED" and final.get("state", "done") == "done":
            dep.stage = "stage-out"
            try:
                missing = missing_outputs(dep.step, dep.run_dir, dep.site.name,
                                          lambda paths: _missing_on_site(dep, paths))
            except pipeline.StepFailed as error:  # not known: the step failed, so its run
                self._close_run(dep, "failed", error.message, overrule_done=True)
                raise
            # A run that wrote no end (events lost) still ended well: say so in its log;
            # its step did not if an output is missing, and its run's end says so instead.
            self._close_run(dep, "done" if missing is None else "failed",
                            missing or "the job completed (its last events were lost)",
                            overrule_done=True)
            if missing is not None:  # what later steps read is not there: it failed
                pipeline.stage(dep.log, "stage-out", "failed", missing[:300])
                ex.set_state(dep, ExecutionState.FAILED, "a declared output is missing",
                             error=missing)
            else:
                ex.set_state(dep, ExecutionState.STAGING_OUT, "bringing the outputs back")
                outputs = self._stage_out(dep)
                ex.executions.set_outputs(dep.execution_id, outputs)
                ex.set_state(dep, ExecutionState.DONE, f"job {dep.job_id} completed")
        else:
            reason = self._reason(dep, job, final)
            tail = output
            self._close_run(dep, "failed", reason)
            ex.set_state(dep, ExecutionState.FAILED, f"job ended {job.state}",
                            error=reason + (f"\n\nlast lines of the job's output:\n{tail}"
                                            if tail else ""))
        ex.release(dep)

    def _drain(self, dep: pipeline.Deployment) -> None:
        tail = dep.tail
        if tail is None:
            return
        deadline = time.monotonic() + DRAIN_GRACE
        seen, quiet_since = tail.delivered, time.monotonic()
        while not tail.finished and tail.error is None and time.monotonic() < deadline:
            if not tail.alive:
                break
            if tail.delivered != seen:
                seen, quiet_since = tail.delivered, time.monotonic()
            elif time.monotonic() - quiet_since >= DRAIN_QUIET:
                break  # the job is over and its log has been quiet: nothing more is coming
            time.sleep(0.1)
        tail.stop.set()
        tail.wait(5.0)

    def _catch_up(self, dep: pipeline.Deployment) -> None:
        """Copy what the tail missed (it gave up, or was cut) from the whole remote log."""
        path = posixpath.join(dep.run_dir, EVENT_LOG)
        try:
            with dep.connection.get().open_sftp() as sftp, sftp.open(path, "rb") as handle:
                data = handle.read()
        except Exception as error:
            log.info("eflows: cannot re-read %s: %s", path, error)
            return
        for line in data.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line cut by a kill
            if isinstance(event, dict) and isinstance(event.get("seq"), int) and \
                    event["seq"] == dep.log.last_seq + 1 and copy_event(dep, event):
                self.control.on_event_seen(dep, event)

    @staticmethod
    def _reason(dep: pipeline.Deployment, job: slurm.JobState, final: dict[str, Any]) -> str:
        if final.get("state") == "failed" and final.get("error"):
            return str(final["error"])
        where = f"Slurm job {dep.job_id}" if dep.site.config.scheduler == "slurm" \
            else f"run {dep.job_id}"
        text = f"{where} ended {job.state}"
        if job.reason:
            text += f": {job.reason}"
        if job.exit_code:
            text += f" (exit code {job.exit_code})"
        if job.signal:
            text += f" (signal {job.signal})"
        return text

    def _close_run(self, dep: pipeline.Deployment, state: str, reason: str,
                   overrule_done: bool = False) -> None:
        """The run's final event in the log: its own (held back by :func:`copy_event`,
        or copied already), or one written here if it could not write it (killed,
        cancelled, timed out). Its unfinished tasks will never finish: they are closed
        as cancelled, so the graph does not show them running forever.

        ``overrule_done``: the job's own ``done``, still held back, gives way to
        ``state`` and ``reason`` (its step failed after all: a declared output missing).
        """
        final = dep.run_final
        if final is not None and overrule_done and state != "done" and \
                final.get("state") == "done" and int(final["seq"]) > dep.log.last_seq:
            dep.run_final = dep.log.emit("run", state=state, app=final.get("app"),
                                         counts=final.get("counts"), error=reason)
            return
        if final is not None:
            dep.log.mirror(final)  # (nothing written if it is there already)
            return
        dep.log.flush()
        last: dict[int, dict[str, Any]] = {}
        for event in read_events(self.control.runs_dir / dep.execution_id / EVENT_LOG):
            if event.get("type") == "task":
                last[int(event["task"])] = event
        for task, event in sorted(last.items()):
            finished = event["state"] in TERMINAL_TASK_STATES or (
                event["state"] == "failed" and event.get("final"))
            if not finished:
                dep.log.emit("task", task=task, state="cancelled",
                             reason=f"the job ended before the task: {reason}"[:300])
        dep.run_final = dep.log.emit("run", state=state, error=reason)

    def _fetch_output(self, dep: pipeline.Deployment) -> str:
        """Keep the job's output here, so its logs stay readable without the site.

        Downloaded under a temporary name (a reader never sees half of it); returns
        its last lines, for the error message of a failed run.
        """
        target = self.control.runs_dir / dep.execution_id / OUTPUT_LOG
        part = target.with_name(target.name + ".part")
        try:
            with dep.connection.get().open_sftp() as sftp:
                sftp.get(posixpath.join(dep.run_dir, OUTPUT_LOG), str(part))
            part.replace(target)
        except Exception as error:
            log.info("eflows: no job output for %s: %s", dep.execution_id, error)
            part.unlink(missing_ok=True)
            return ""
        return log_tail(target)

    def _stage_out(self, dep: pipeline.Deployment) -> dict[str, Any]:
        plan = dep.plan
        # (a stage-out synced during the run gets its last sync from its own step)
        items = [i for i in plan.stage_out if i.name not in dep.synced] \
            if plan is not None else []
        pipeline.stage(dep.log, "stage-out", "running" if items else "skipped",
                       f"{len(items)} output(s)" if items else
                       "the last syncs are steps of their own" if dep.synced else
                       "no declared outputs")
        outputs: dict[str, Any] = {}
        for item in items:
            remote = item.source if item.source.startswith("/") else posixpath.join(
                dep.run_dir, item.source)
            if item.keep_on_cluster:
                outputs[item.name] = {"cluster_path": remote}
                continue
            if item.location is not None:
                outputs[item.name] = self._stage_out_data(dep, item.name, remote, item.location,
                                                          item.contents)
                continue
            # two outputs may share a file name; a name can never climb out of outputs/
            try:
                target = within(self.control.runs_dir, dep.execution_id, "outputs", item.name)
            except UnsafePath as error:
                raise pipeline.StepFailed(f"output {item.name!r}: {error}") from None
            result = self._stage_out_one(dep, item.name, remote, target)
            outputs[item.name] = {"path": str(target / result.name),
                                  "bytes": result.bytes, "sha256": result.sha256,
                                  "cluster_path": remote}
        if items:
            pipeline.stage(dep.log, "stage-out", "done", f"{len(items)} output(s)")
        return outputs

    @staticmethod
    def _stage_out_data(dep: pipeline.Deployment, name: str, remote: str,
                        location: Location, contents: bool = False) -> dict[str, Any]:
        """A site path to a data service, through this server (retried like the rest)."""
        return send_out(dep.connection.get, dep.connection.drop, dep.logistics,
                        dep.execution_id, name, remote, location,
                        f"{dep.workflow.name} {dep.execution_id} {name}", dep.log,
                        contents=contents, run_dir=dep.run_dir)

    @staticmethod
    def _stage_out_one(dep: pipeline.Deployment, name: str, remote: str,
                       target: Path) -> TransferResult:
        """A dropped connection is retried (the download resumes); a missing file is not."""
        for attempt in range(1, STAGE_OUT_ATTEMPTS + 1):
            try:
                return stage_out(dep.connection.get(), remote, target, dep.log)
            except TransferError as error:
                raise pipeline.StepFailed(f"staging out {name!r} ({remote}) failed: "
                                          f"{error.message}") from None
            except (OSError, EOFError, paramiko.SSHException, ServiceError) as error:
                if attempt == STAGE_OUT_ATTEMPTS:
                    raise pipeline.StepFailed(f"staging out {name!r} ({remote}) failed "
                                              f"{attempt} times: {error}") from None
                dep.connection.drop()
                time.sleep(attempt)
        raise AssertionError("unreachable")


def copy_event(dep: pipeline.Deployment, event: dict[str, Any]) -> bool:
    """Copy one of the job's events into the execution's log: False if it was not (seen
    already, or held back).

    The run's final ``done`` of a step that declares outputs is held back (as
    ``dep.run_final``) until the finisher has looked for them: a missing one fails the
    step, and its run's end must then say failed, not done (``Finisher._close_run``).
    """
    if dep.step.outputs and event.get("type") == "run" and event.get("state") == "done":
        dep.run_final = event
        return False
    return dep.log.mirror(event)


def _missing_on_site(dep: pipeline.Deployment, paths: list[str]) -> list[str]:
    """The ``paths`` that do not exist on the run's site (one command for all of them)."""
    script = "; ".join(f"[ -e {shlex.quote(p)} ] || printf '%s\\0' {shlex.quote(p)}"
                       for p in paths)
    status, out, err = ssh.run(dep.connection.get(), script + "; true", timeout=60)
    if status != 0:
        raise pipeline.StepFailed(f"checking the declared outputs on site "
                                  f"{dep.site.name!r} failed: {err.strip()[:200]}")
    return [p for p in out.split("\0") if p]
