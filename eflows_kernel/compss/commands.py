"""Command lines that launch an application on the real COMPSs runtime, with monitoring on.

``enqueue_compss`` submits a whole COMPSs job to the site's batch system; ``runcompss``
starts the runtime directly (on a workstation, or inside an allocation we already hold).
Both are built as **argv lists** so that no value is ever interpreted by a shell: a path
with spaces or an argument like ``$(rm -rf ~)`` stays one harmless item. Only when a batch
script needs a command line as text do we render it with :func:`shlex.join`.

Option names follow the COMPSs 3.x manual (``runcompss -h`` / ``enqueue_compss -h`` of
COMPSs 3.1-3.3): ``--monitoring=<ms>``, ``--graph``, ``--log_dir`` (runcompss: the
application's log directory), ``--base_log_dir``, ``--lang``, ``--pythonpath``,
``--num_nodes``, ``--exec_time`` (minutes), ``--qos``, ``--project_name`` (the account;
only on sites whose cfg sets ``ENABLE_PROJECT_NAME``), ``--cpus_per_node``,
``--job_name``, ``--queue``. Every option is written in its ``--name=value`` form, which
both scripts accept and which keeps each option a single argv item.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

__all__ = ["CompssLaunch", "enqueue_compss_argv", "render", "runcompss_argv"]

DEFAULT_MONITORING_MS = 2000  # monitor refresh: often enough for a live graph, cheap


@dataclass
class CompssLaunch:
    """What to run and how to watch it; shared by both launchers."""

    app: str | PurePath  # the application file (Python script)
    args: Sequence[str] = ()
    lang: str = "python"
    monitoring_ms: int | None = DEFAULT_MONITORING_MS  # None: no monitor files
    graph: bool = True  # complete_graph.dot, needed for deps of finished tasks
    base_log_dir: str | PurePath | None = None
    log_dir: str | PurePath | None = None
    pythonpath: Sequence[str | PurePath] = ()
    extra: Mapping[str, str | int | bool] = field(default_factory=dict)  # other --opt=value
    options: Sequence[str] = ()  # more runtime options as given (a step's extra_compss_opts)

    def common_options(self) -> list[str]:
        if self.monitoring_ms is not None and self.monitoring_ms <= 0:
            raise ValueError("monitoring interval must be a positive number of milliseconds")
        argv = [f"--lang={self.lang}"]
        if self.monitoring_ms is not None:
            argv.append(f"--monitoring={int(self.monitoring_ms)}")
        if self.graph:
            argv.append("--graph=true")
        if self.base_log_dir is not None:
            argv.append(f"--base_log_dir={self.base_log_dir}")
        if self.log_dir is not None:
            argv.append(f"--log_dir={self.log_dir}")
        if self.pythonpath:
            argv.append("--pythonpath=" + ":".join(str(p) for p in self.pythonpath))
        for key, value in self.extra.items():
            if not key.replace("_", "").isalnum():
                raise ValueError(f"not a COMPSs option name: {key!r}")
            if value is True:
                argv.append(f"--{key}")
            elif value is not False:
                argv.append(f"--{key}={value}")
        return argv + [str(option) for option in self.options]

    def application(self) -> list[str]:
        app = str(self.app)
        if app.startswith("-"):
            raise ValueError("the application path must not start with '-'")
        return [app, *(str(a) for a in self.args)]


def runcompss_argv(launch: CompssLaunch, runcompss: str = "runcompss") -> list[str]:
    """``runcompss [options] app args...``: the runtime in this process's allocation."""
    return [runcompss, *launch.common_options(), *launch.application()]


def enqueue_compss_argv(
    launch: CompssLaunch,
    *,
    num_nodes: int | None = None,
    exec_time_min: int | None = None,
    qos: str | None = None,
    account: str | None = None,
    cpus_per_node: int | None = None,
    queue: str | None = None,
    job_name: str | None = None,
    enqueue_compss: str = "enqueue_compss",
) -> list[str]:
    """``enqueue_compss [queue options] [COMPSs options] app args...``: a new batch job."""
    argv = [enqueue_compss]
    if num_nodes is not None:
        if num_nodes < 1:
            raise ValueError("num_nodes must be >= 1")
        argv.append(f"--num_nodes={num_nodes}")
    if exec_time_min is not None:
        if exec_time_min < 1:
            raise ValueError("exec_time is in minutes and must be >= 1")
        argv.append(f"--exec_time={exec_time_min}")
    if cpus_per_node is not None:
        argv.append(f"--cpus_per_node={cpus_per_node}")
    for name, value in (("qos", qos), ("project_name", account), ("queue", queue),
                        ("job_name", job_name)):
        if value is not None:
            argv.append(f"--{name}={value}")
    return [*argv, *launch.common_options(), *launch.application()]


def render(argv: Sequence[str]) -> str:
    """One shell-safe line for a batch script; ``shlex.split(render(a)) == list(a)``."""
    return shlex.join(argv)
