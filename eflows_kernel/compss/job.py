"""The part of a run's batch script that runs the application on the site's COMPSs runtime.

We run ``runcompss`` *inside our own Slurm allocation* rather than ``enqueue_compss``: the
deployer then submits, cancels and polls one job exactly as for our own runner, and the
job's exit status stays the application's. Next to the runtime runs the sidecar
(:mod:`eflows_kernel.compss.follow`) that turns its monitor files into our event log.

Every value that a user or a site chose (paths, arguments, run id) goes through
:func:`shlex.quote`: an argument such as ``$(rm -rf ~)`` or ``a;b`` reaches runcompss as
that literal text. The only unquoted words are our own shell variables.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Sequence
from typing import Protocol

from eflows_kernel.compss.commands import CompssLaunch, render, runcompss_argv
from eflows_kernel.events import EVENT_LOG

__all__ = ["COMPSS_LOG_DIR", "EXIT_FILE", "CompssRun", "compss_job_lines", "compss_launch"]

COMPSS_LOG_DIR = "compss"  # inside the run dir: the runtime's logs and monitor files
EXIT_FILE = "compss_exit_code"  # runcompss's exit status, for the sidecar
FOLLOW_INTERVAL = 1.0  # seconds between two reads of the monitor files


class CompssRun(Protocol):
    """What the job needs to know of the run (the deployer's ``JobRequest`` has it all)."""

    run_dir: str  # absolute, on the site
    python: str  # the interpreter of the run's environment (for the sidecar)
    application: str
    arguments: Sequence[str]
    run_id: str
    first_seq: int
    runcompss: str
    python_interpreter: str | None  # the step's (runcompss --python_interpreter)
    compss_options: Sequence[str]  # the step's extra_compss_opts, as words


def compss_launch(request: CompssRun) -> CompssLaunch:
    """What runcompss is told: monitoring and graph on, logs kept in the run directory.

    The application's folder goes on the PYTHONPATH so that its own modules import on the
    workers as they do on the master.
    """
    logs = posixpath.join(request.run_dir, COMPSS_LOG_DIR)
    app = request.application
    app_name = posixpath.splitext(posixpath.basename(app))[0] or "app"
    extra = {"python_interpreter": request.python_interpreter} \
        if request.python_interpreter else {}
    return CompssLaunch(app=app, args=list(request.arguments), base_log_dir=logs,
                        log_dir=posixpath.join(logs, app_name),
                        pythonpath=[posixpath.dirname(app) or request.run_dir], extra=extra,
                        options=list(request.compss_options))


def compss_job_lines(request: CompssRun) -> list[str]:
    """Bash lines, run after ``cd <run_dir>``: runcompss, the sidecar, their statuses.

    The script exits with runcompss's status (Slurm's verdict), and also records it in
    ``exit_code`` so a site without a scheduler (which reads that file) sees it too.
    """
    q = shlex.quote
    launch = compss_launch(request)
    run_dir = request.run_dir
    runcompss = render(runcompss_argv(launch, request.runcompss))
    follow = render([
        request.python, "-m", "eflows_kernel.compss.follow",
        "--log-dir", posixpath.join(run_dir, COMPSS_LOG_DIR),
        "--event-log", posixpath.join(run_dir, EVENT_LOG),
        "--run-id", request.run_id, "--first-seq", str(request.first_seq),
        "--exit-file", posixpath.join(run_dir, EXIT_FILE),
        "--interval", str(FOLLOW_INTERVAL), "--app", posixpath.basename(request.application),
    ])
    return [
        f"rm -f {q(EXIT_FILE)} exit_code",
        f"mkdir -p {q(posixpath.join(run_dir, COMPSS_LOG_DIR))}",
        f"{runcompss} < /dev/null &",
        "compss_pid=$!",
        f'{follow} --pid "$compss_pid" < /dev/null &',
        "follow_pid=$!",
        'wait "$compss_pid"',
        "status=$?",
        f'echo "$status" > {q(EXIT_FILE)}.part && mv {q(EXIT_FILE)}.part {q(EXIT_FILE)}',
        'echo "eflows: runcompss exited with status $status" >&2',
        'wait "$follow_pid"',
        'echo "$status" > exit_code.part && mv exit_code.part exit_code',
        'exit "$status"',
    ]
