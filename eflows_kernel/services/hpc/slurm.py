"""A small, shell-safe Slurm client over an SSH connection (a paramiko client).

Every value that comes from a user (job name, partition, QOS, account, paths, limits) reaches
the remote shell only through :func:`shlex.quote`, and options are passed as ``--opt=VALUE``
so no value can be read as another option. The job script is uploaded with SFTP, never echoed
through the shell. Job states come from ``squeue`` (and ``scontrol show job`` as a fallback),
not ``sacct``: the clusters we target may run without accounting storage.

Errors carry Slurm's own message: :class:`JobRejected` (sbatch refused the job: bad
partition, QOS, limits...), :class:`JobNotFound` (the controller no longer knows the job),
:class:`SlurmError` (anything else: no Slurm on the site, controller down...).
"""

from __future__ import annotations

import posixpath
import re
import shlex
import uuid
from dataclasses import dataclass
from datetime import timedelta

import paramiko

from eflows_kernel.services.errors import NotFoundError, ServiceError, ValidationError
from eflows_kernel.services.hpc.ssh import run
from eflows_kernel.services.lifecycle import ExecutionState

DEFAULT_TIMEOUT = 30.0
CANCEL_MARK = "eflows-cancelled"  # put in the job's Comment by cancel(), to tell who cancelled

_JOB_ID = re.compile(r"^[0-9]+(?:_[0-9]+)?(?:\+[0-9]+)?$")
_TIME_LIMIT = re.compile(r"^(?:[0-9]+-)?[0-9]+(?::[0-9]+){0,2}$|^UNLIMITED$|^INFINITE$")


class SlurmError(ServiceError):
    """Slurm (or the site around it) failed; the message is Slurm's own. HTTP 502."""

    status = 502


class JobRejected(SlurmError):
    """sbatch refused the job (invalid partition, QOS, account, limits...). HTTP 400."""

    status = 400


class JobNotFound(SlurmError, NotFoundError):
    """The controller does not know that job id (never existed, or purged). HTTP 404."""

    status = 404


# Slurm job states (squeue %T / scontrol JobState) -> our execution states.
SLURM_STATES: dict[str, ExecutionState] = {
    # waiting to run
    "PENDING": ExecutionState.SUBMITTED,
    "CONFIGURING": ExecutionState.SUBMITTED,
    "REQUEUED": ExecutionState.SUBMITTED,
    "REQUEUE_HOLD": ExecutionState.SUBMITTED,
    "REQUEUE_FED": ExecutionState.SUBMITTED,
    "RESV_DEL_HOLD": ExecutionState.SUBMITTED,
    "SPECIAL_EXIT": ExecutionState.SUBMITTED,  # held for requeue after a special exit code
    # running (COMPLETING: the script ended but the node is still cleaning up; the exit code
    # is not final yet, so not finished for us)
    "RUNNING": ExecutionState.RUNNING,
    "COMPLETING": ExecutionState.RUNNING,
    "SIGNALING": ExecutionState.RUNNING,
    "STAGE_OUT": ExecutionState.RUNNING,
    "RESIZING": ExecutionState.RUNNING,
    "SUSPENDED": ExecutionState.RUNNING,
    "STOPPED": ExecutionState.RUNNING,
    # finished
    "COMPLETED": ExecutionState.DONE,
    "CANCELLED": ExecutionState.CANCELLED,
    "FAILED": ExecutionState.FAILED,
    "TIMEOUT": ExecutionState.FAILED,
    "NODE_FAIL": ExecutionState.FAILED,
    "OUT_OF_MEMORY": ExecutionState.FAILED,
    "BOOT_FAIL": ExecutionState.FAILED,
    "DEADLINE": ExecutionState.FAILED,
    "PREEMPTED": ExecutionState.FAILED,
    "REVOKED": ExecutionState.FAILED,
}
FINISHED_STATES = frozenset(s for s, e in SLURM_STATES.items()
                            if e in (ExecutionState.DONE, ExecutionState.FAILED,
                                     ExecutionState.CANCELLED))


def to_execution_state(slurm_state: str) -> ExecutionState:
    """Our state for a Slurm one (``"CANCELLED by 0"`` and ``"PENDING+"`` are understood)."""
    key = slurm_state.strip().split(" ")[0].rstrip("+").upper()
    try:
        return SLURM_STATES[key]
    except KeyError:
        raise SlurmError(f"unknown Slurm job state {slurm_state!r}", state=slurm_state) from None


@dataclass(frozen=True)
class JobState:
    """A job as Slurm sees it: its state, why, and (once finished) how it ended."""

    state: str  # Slurm's word, e.g. "COMPLETED"
    reason: str | None = None  # Slurm's Reason, or ours for a cancellation
    exit_code: int | None = None  # the script's exit status, once known
    signal: int | None = None  # the signal that ended it, if any
    time_limit: str | None = None  # squeue's TimeLimit (%l), e.g. "10:00" or "1-00:00:00"

    def queue(self) -> dict[str, str]:
        """What the jobs table shows of the job: Slurm's state, why (%r), its time limit."""
        seen = {"state": self.state, "reason": self.reason, "time_limit": self.time_limit}
        return {key: value for key, value in seen.items() if value}

    @property
    def execution_state(self) -> ExecutionState:
        return to_execution_state(self.state)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES


def _q(value: object) -> str:
    return shlex.quote(str(value))


def _check_job_id(job_id: str | int) -> str:
    text = str(job_id).strip()
    if not _JOB_ID.match(text):
        raise ValidationError(f"not a Slurm job id: {str(job_id)!r}", job_id=str(job_id))
    return text


def _time_limit(value: str | int | timedelta) -> str:
    if isinstance(value, timedelta):
        minutes = max(1, int(value.total_seconds() + 59) // 60)
        return str(minutes)
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise ValidationError(f"time limit must be positive, not {value}")
        return str(value)
    text = str(value).strip()
    if not _TIME_LIMIT.match(text):
        raise ValidationError(f"not a Slurm time limit (minutes, [D-]HH:MM:SS): {value!r}")
    return text


def _positive_int(name: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError(f"{name} must be a positive integer, not {value!r}")
    return str(value)


def _message(out: str, err: str) -> str:
    text = (err.strip() or out.strip())
    return text or "no message"


def _upload(client: paramiko.SSHClient, workdir: str, name: str, text: str) -> str:
    sftp = client.open_sftp()
    try:
        _makedirs(sftp, workdir)
        path = posixpath.join(workdir, name)
        with sftp.open(path, "w") as handle:
            handle.write(text.encode())
        sftp.chmod(path, 0o700)
        return path
    except OSError as error:
        raise SlurmError(f"cannot upload the job script to {workdir!r}: {error}",
                         workdir=workdir) from None
    finally:
        sftp.close()


def _makedirs(sftp: paramiko.SFTPClient, path: str) -> None:
    parts = [p for p in path.split("/") if p]
    current = "/" if path.startswith("/") else ""
    for part in parts:
        current = posixpath.join(current, part) if current else part
        try:
            sftp.stat(current)
        except FileNotFoundError:
            sftp.mkdir(current, 0o700)  # a run's folders are the login's alone


def submit(client: paramiko.SSHClient, script_text: str, workdir: str, job_name: str, *,
           partition: str | None = None, qos: str | None = None, account: str | None = None,
           nodes: int | str | None = None, time_limit: str | int | timedelta | None = None,
           cpus_per_task: int | None = None, output: str | None = None,
           script_name: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> str:
    """Upload ``script_text`` into ``workdir`` and ``sbatch`` it there: the job id.

    ``workdir`` is a path on the site (relative ones are relative to the login's home).
    ``output``: the file receiving the job's stdout and stderr (Slurm's default otherwise).
    Raises :class:`JobRejected` with sbatch's message if Slurm refuses the job.
    """
    if not workdir or "\0" in workdir:
        raise ValidationError("a job needs a working directory on the site")
    if not script_text.startswith("#!"):
        script_text = "#!/bin/bash\n" + script_text
    script = _upload(client, workdir, script_name or f"eflows-job-{uuid.uuid4().hex[:12]}.sh",
                     script_text)
    args = ["sbatch", "--parsable", f"--chdir={workdir}", f"--job-name={job_name}"]
    if partition is not None:
        args.append(f"--partition={partition}")
    if qos is not None:
        args.append(f"--qos={qos}")
    if account is not None:
        args.append(f"--account={account}")
    if nodes is not None:
        args.append(f"--nodes={_positive_int('nodes', nodes) if isinstance(nodes, int) else nodes}")
    if time_limit is not None:
        args.append(f"--time={_time_limit(time_limit)}")
    if cpus_per_task is not None:
        args.append(f"--cpus-per-task={_positive_int('cpus_per_task', cpus_per_task)}")
    if output is not None:
        args.append(f"--output={output.replace('%', '%%')}")  # % starts a Slurm pattern
    args.append(script)
    command = " ".join(_q(a) for a in args)
    status, out, err = run(client, command, timeout=timeout)
    if status != 0:
        if status == 127:
            raise SlurmError(f"sbatch is not available on the site: {_message(out, err)}")
        raise refusal(_message(out, err), partition=partition, qos=qos, account=account)
    first = out.strip().splitlines()[-1] if out.strip() else ""
    job_id = first.split(";")[0].strip()
    if not _JOB_ID.match(job_id):
        raise SlurmError(f"sbatch did not print a job id: {_message(out, err)}")
    return job_id


def refusal(sbatch: str, *, partition: str | None = None, qos: str | None = None,
            account: str | None = None) -> JobRejected:
    """sbatch's refusal, naming the value Slurm refused and where to find a good one.

    With accounting, Slurm checks a job's QOS and account against the submitter's
    associations; its message ("Invalid qos specification") names neither the value nor
    the way out, and the value may have come from a template or the site's defaults.
    """
    text = " ".join(line.strip().removeprefix("sbatch: error: ")
                    for line in sbatch.strip().splitlines() if line.strip())
    lower = text.lower()
    if "invalid qos" in lower:
        what = f"QOS {qos!r}" if qos else "the default QOS of your account"
        hint = (f"{what} is not one your account may use on this cluster: give a QOS of "
                "your association (`sacctmgr show assoc user=$USER format=account,qos` "
                "on the site lists them), or none for your default")
        field = "qos"
    elif "invalid account" in lower:
        what = f"account {account!r}" if account else "your default account"
        hint = (f"{what} is not one you may charge on this cluster"
                f"{f' (partition {partition!r})' if partition else ''}: set the site's "
                "account to one of your associations (`sacctmgr show assoc user=$USER "
                "format=account,partition` on the site lists them)")
        field = "account"
    elif "invalid partition" in lower:
        hint = (f"partition {partition!r} does not exist there: `sinfo -s` on the site "
                "lists the partitions" if partition else "")
        field = "partition"
    else:
        return JobRejected(f"sbatch refused the job: {text}", sbatch=sbatch.strip())
    message = f"sbatch refused the job: {text}" + (f"; {hint}" if hint else "")
    return JobRejected(message, sbatch=sbatch.strip(), field=field)


def _split_status(raw: str) -> tuple[int | None, int | None]:
    """squeue's exit_code is a wait(2) status: (exit code, signal)."""
    try:
        value = int(raw)
    except ValueError:
        return None, None
    signal = value & 0x7F
    return (value >> 8) & 0xFF, (signal or None)


def _reason(state: str, reason: str | None, comment: str, signal: int | None) -> str | None:
    if reason in ("None", "", None):
        reason = None
    if state == "CANCELLED":
        who = ("cancelled through eflows" if comment.strip() == CANCEL_MARK
               else "cancelled outside eflows (scancel by the job's owner or an administrator)")
        if signal:
            who += f", signal {signal}"
        return f"{who}: {reason}" if reason else who
    return reason


def _limit(value: str | None) -> str | None:
    """Slurm's TimeLimit, or None where it has none to say."""
    value = (value or "").strip()
    return None if value.upper() in ("", "N/A", "NONE", "UNLIMITED", "INVALID") else value


def state(client: paramiko.SSHClient, job_id: str | int,
          timeout: float = DEFAULT_TIMEOUT) -> JobState:
    """The job's state now, from ``squeue`` (falling back to ``scontrol show job``)."""
    jid = _check_job_id(job_id)
    fmt = "State:|,Reason:|,exit_code:|,TimeLimit:|,Comment:"
    status, out, err = run(client, f"squeue -h -t all -j {_q(jid)} -O {_q(fmt)}", timeout=timeout)
    line = out.strip("\n").split("\n")[0] if out.strip() else ""
    if status == 0 and line.count("|") >= 4:
        slurm_state, reason, code, limit, comment = (x.strip() for x in line.split("|", 4))
        slurm_state = slurm_state.split(" ")[0]
        to_execution_state(slurm_state)  # unknown states fail loudly
        exit_code, signal = _split_status(code)
        finished = slurm_state in FINISHED_STATES
        return JobState(slurm_state, _reason(slurm_state, reason, comment, signal),
                        exit_code if finished else None, signal if finished else None,
                        _limit(limit))
    return _scontrol_state(client, jid, timeout, _message(out, err))


def states(client: paramiko.SSHClient, job_ids: list[str],
           timeout: float = DEFAULT_TIMEOUT) -> dict[str, JobState]:
    """The states of many jobs with one ``squeue`` (one site poll for all its runs).

    Jobs squeue no longer lists are looked up one by one with ``scontrol``; those the
    controller forgot entirely are left out of the result (the caller decides).
    """
    ids = [str(j) for j in job_ids if _JOB_ID.match(str(j))]  # others: not Slurm's
    if not ids:
        return {}
    fmt = "JobID:|,State:|,Reason:|,exit_code:|,TimeLimit:|,Comment:"
    status, out, err = run(client, f"squeue -h -t all -j {_q(','.join(ids))} -O {_q(fmt)}",
                           timeout=timeout)
    found: dict[str, JobState] = {}
    if status == 0:
        for line in out.splitlines():
            if line.count("|") < 5:
                continue
            jid, slurm_state, reason, code, limit, comment = (
                x.strip() for x in line.split("|", 5))
            slurm_state = slurm_state.split(" ")[0]
            if jid not in ids or slurm_state not in SLURM_STATES:
                continue
            exit_code, signal = _split_status(code)
            finished = slurm_state in FINISHED_STATES
            found[jid] = JobState(slurm_state, _reason(slurm_state, reason, comment, signal),
                                  exit_code if finished else None, signal if finished else None,
                                  _limit(limit))
    for jid in ids:
        if jid not in found:
            try:
                found[jid] = _scontrol_state(client, jid, timeout, _message(out, err))
            except SlurmError:  # forgotten, or unreadable: this job only, not the others
                continue
    return found


def find_job(client: paramiko.SSHClient, name: str,
             timeout: float = DEFAULT_TIMEOUT) -> str | None:
    """The newest not-finished job of the login with that exact name, or None."""
    status, out, _err = run(client, f"squeue -h --me -n {_q(name)} -t PD,R,CF,CG,S "
                                    "-o %i", timeout=timeout)
    ids = [line.strip() for line in out.splitlines() if _JOB_ID.match(line.strip())]
    return ids[-1] if status == 0 and ids else None


_SCONTROL_FIELD = re.compile(r"(?:^|\s)(JobState|Reason|ExitCode|Comment|TimeLimit)=(\S*)")


def _scontrol_state(client: paramiko.SSHClient, jid: str, timeout: float,
                    squeue_message: str) -> JobState:
    status, out, err = run(client, f"scontrol show job {_q(jid)}", timeout=timeout)
    if status != 0:
        message = _message(out, err)
        if "invalid job id" in message.lower():
            raise JobNotFound(f"Slurm does not know job {jid}: {message}", job_id=jid)
        raise SlurmError(f"cannot read the state of job {jid}: {message}", job_id=jid)
    # Only look after the UserId= line: JobName (user data) comes before it and may hold
    # anything, including newlines and "JobState=...".
    start = out.find("UserId=")
    fields: dict[str, str] = {}
    for key, value in _SCONTROL_FIELD.findall(out[start:] if start >= 0 else ""):
        fields.setdefault(key, value)
    if "JobState" not in fields:
        raise SlurmError(f"cannot read the state of job {jid}: {squeue_message}", job_id=jid)
    slurm_state = fields["JobState"]
    to_execution_state(slurm_state)
    exit_code = signal = None
    if slurm_state in FINISHED_STATES and ":" in fields.get("ExitCode", ""):
        code, sig = fields["ExitCode"].split(":", 1)
        exit_code, signal = int(code), (int(sig) or None)
    return JobState(slurm_state, _reason(slurm_state, fields.get("Reason"),
                                         fields.get("Comment", ""), signal), exit_code, signal,
                    _limit(fields.get("TimeLimit")))


def cancel(client: paramiko.SSHClient, job_id: str | int,
           timeout: float = DEFAULT_TIMEOUT) -> None:
    """Cancel the job (marking it as cancelled through eflows); a finished job is left as is.

    Raises :class:`JobNotFound` for a job the controller does not know (a non-root scancel
    of an unknown id prints nothing and exits 0, so the job is looked up first).
    """
    jid = _check_job_id(job_id)
    if state(client, jid, timeout=timeout).finished:
        return
    command = (f"scontrol update JobId={_q(jid)} Comment={_q(CANCEL_MARK)} >/dev/null 2>&1; "
               f"scancel {_q(jid)}")
    status, out, err = run(client, command, timeout=timeout)
    if status != 0:
        message = _message(out, err)
        if "invalid job id" in message.lower():
            raise JobNotFound(f"Slurm does not know job {jid}: {message}", job_id=jid)
        if "already completed" in message.lower() or "already finished" in message.lower():
            return
        raise SlurmError(f"scancel failed for job {jid}: {message}", job_id=jid)
