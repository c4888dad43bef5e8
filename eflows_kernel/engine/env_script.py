"""``--env_script`` as runcompss sources it: before the Python running the application starts.

runcompss sources the script in the shell that then starts the master (and each worker),
so what it sets is the whole process's from its start: a PYTHONPATH entry is on
``sys.path`` for the application's first imports, LD_LIBRARY_PATH is what the loader
reads for every library the main program loads, a module's variables are there.
eflows-run is already running when it reads the option: it sources the script with bash,
then starts itself again, in the same process (``exec``: the same pid, so Slurm, signals
and the exit status are unchanged), with the environment the script made; the restarted
runner knows the script was sourced and does not source it a second time.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from typing import NoReturn

# Set for the restarted runner: the script (absolute path) whose variables it already has.
SOURCED = "EFLOWS_ENV_SCRIPT_SOURCED"


class EnvScriptError(ValueError):
    """The script is missing or failed: the run cannot start in the environment it asks."""


def read_env_script(path: str) -> dict[str, str]:
    """The environment variables a ``--env_script`` sets (sourced by bash)."""
    if not os.path.isfile(path):
        raise EnvScriptError(f"--env_script: no such file {path!r}")
    command = f"set -a; source {shlex.quote(path)} >/dev/null; env -0"
    result = subprocess.run(["bash", "-c", command], capture_output=True, timeout=60,
                            env=dict(os.environ))
    if result.returncode != 0:
        raise EnvScriptError(
            f"--env_script {path} failed: {result.stderr.decode(errors='replace').strip()}")
    after = dict(item.split("=", 1) for item in
                 result.stdout.decode(errors="replace").split("\0") if "=" in item)
    return {k: v for k, v in after.items() if os.environ.get(k) != v and k not in ("_", "SHLVL")}


def already_sourced(path: str) -> bool:
    """This runner is the one restarted in the environment of ``path``."""
    return os.environ.get(SOURCED) == os.path.abspath(path)


def restart_in(environment: dict[str, str], script: str, argv: Sequence[str]) -> NoReturn:
    """Start this runner again with ``argv`` in ``environment`` (what ``script`` set).

    The runner is started by its module's ``main`` whatever started it first (the
    ``eflows-run`` script, ``python -m``); its package stays importable even if the
    script replaced PYTHONPATH (appended last: an installed copy found first still wins).
    """
    env = {**os.environ, **environment, SOURCED: os.path.abspath(script)}
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = (f"import sys; sys.path.append({package_root!r}); "
            "from eflows_kernel.engine.runner import main; sys.exit(main())")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-c", code, *argv], env)
