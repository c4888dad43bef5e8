"""The Python environment a run uses on the site: found ready, or bootstrapped once.

Environments live in ``<workdir>/envs/<key>/``; the key digests the project wheel, the
pinned runtime requirements and the workflow's pip needs, so runs that need the same
thing share one environment and a changed need gets a new one. An environment is built
under a temporary name and renamed when complete (``.eflows-ready`` inside), so a
bootstrap cut in the middle is never used, and two servers racing build it twice at
worst, never half.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
import secrets
import shlex
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import paramiko

from eflows_kernel.services.deploy.backports import mark_backports
from eflows_kernel.services.deploy.wheels import (
    SiteEnvironmentError,
    TargetPython,
    project_wheel,
    runtime_requirements,
    wheelhouse,
)
from eflows_kernel.services.hpc import ssh
from eflows_kernel.services.hpc.transfer import stage_in
from eflows_kernel.services.sites import SiteConfig
from eflows_kernel.services.workflows import SoftwareNeeds

log = logging.getLogger(__name__)

READY_MARK = ".eflows-ready"
RECIPE = 2  # bump when the way environments are built changes: old ones are not reused
BOOTSTRAP_TIMEOUT = 1800.0
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def login_shell(command: str) -> str:
    """Run through a login shell: /etc/profile is where sites load modules and Slurm's PATH."""
    return f"sh -lc {shlex.quote(command)}"


@dataclass(frozen=True)
class PreparedEnvironment:
    python: str  # absolute path of the interpreter the run uses
    created: bool  # bootstrapped now (False: found ready)
    detail: str


def _lock(key: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


class EnvironmentBuilder:
    """Finds or bootstraps the site's environment for a workflow's software needs."""

    def __init__(self, cache_dir: Path, wheel: str | None = None,
                 timeout: float = BOOTSTRAP_TIMEOUT) -> None:
        self.cache_dir = Path(cache_dir)
        self.configured_wheel = wheel
        self.timeout = timeout

    def prepare(self, client: paramiko.SSHClient, site: SiteConfig, workdir: str,
                software: SoftwareNeeds, note: Callable[[str], None] = lambda _m: None
                ) -> PreparedEnvironment:
        """The interpreter to run with; ``note`` receives one line per thing done."""
        for kind in ("apt", "spack", "conda"):
            wanted = getattr(software, kind)
            if wanted:
                note(f"{kind} packages are not installed by eflows ({', '.join(wanted)}); "
                     "the site must provide them (e.g. as modules)")
        mode, base = site.python.mode, site.python.path
        if mode == "existing" and not software.pip:
            self._check(client, f"{shlex.quote(base)} -c 'import eflows_kernel'",
                        f"`{base}` cannot import eflows_kernel on the site: install the "
                        "package there, or set the site's python mode to 'bootstrap'")
            return PreparedEnvironment(base, False, f"using {base} as configured")
        wheel = None if mode == "existing" else project_wheel(self.cache_dir,
                                                              self.configured_wheel)
        pip_needs = mark_backports(software.pip)
        if pip_needs.backports:
            note("installed only on a Python that lacks them: "
                 + ", ".join(pip_needs.backports))
        requirements = (pip_needs.requirements if mode == "existing"
                        else runtime_requirements(pip_needs.requirements))
        key = hashlib.sha256(repr((RECIPE, mode, base, site.python.offline,
                                   wheel.name if wheel else None,
                                   wheel.stat().st_size if wheel else None,
                                   _digest(wheel) if wheel else None,
                                   sorted(requirements))).encode()).hexdigest()[:16]
        env = posixpath.join(workdir, "envs", key)
        python = posixpath.join(env, "bin", "python")
        with _lock(f"{site.host}:{site.port}:{site.login}:{env}"):
            if self._ready(client, env):
                return PreparedEnvironment(python, False, f"environment {env} is ready")
            note(f"bootstrapping the environment {env} (once per software set)")
            self._bootstrap(client, site, workdir, env, wheel, requirements, note)
        return PreparedEnvironment(python, True, f"environment {env} was created")

    def _check(self, client: paramiko.SSHClient, command: str, failure: str) -> None:
        status, _out, err = ssh.run(client, login_shell(command), timeout=60)
        if status != 0:
            raise SiteEnvironmentError(f"{failure} ({err.strip()[-300:] or f'status {status}'})")

    @staticmethod
    def _ready(client: paramiko.SSHClient, env: str) -> bool:
        command = (f"test -x {shlex.quote(env)}/bin/python && "
                   f"test -f {shlex.quote(env)}/{READY_MARK}")
        status, _out, _err = ssh.run(client, command, timeout=60)
        return status == 0

    def _target(self, client: paramiko.SSHClient, base: str) -> TargetPython:
        status, out, err = ssh.run(client, login_shell(
            f"{shlex.quote(base)} -c {shlex.quote(TargetPython.PROBE)}"), timeout=60)
        if status != 0:
            raise SiteEnvironmentError(
                f"`{base}` (Python 3.10 or newer) is needed on the site to bootstrap the "
                f"environment and it did not run: {err.strip()[-300:] or f'status {status}'}; "
                "set the site's python path to an interpreter that exists there")
        target = TargetPython.parse(out.strip().splitlines()[-1] if out.strip() else "")
        if (target.major, target.minor) < (3, 10):
            raise SiteEnvironmentError(
                f"`{base}` on the site is Python {target.major}.{target.minor}; 3.10 or newer "
                "is needed: set the site's python path to a newer interpreter (or load its "
                "module in the login profile)")
        return target

    def _bootstrap(self, client: paramiko.SSHClient, site: SiteConfig, workdir: str, env: str,
                   wheel: Path | None, requirements: list[str],
                   note: Callable[[str], None]) -> None:
        base = site.python.path
        target = self._target(client, base)
        q = shlex.quote
        find_links: list[str] = []
        packages = [q(r) for r in requirements]
        own: list[str] = []  # our wheel, without its Jupyter-side dependencies
        if site.python.offline:
            if wheel is None:
                raise SiteEnvironmentError("offline bootstrap needs the project wheel")
            house = wheelhouse(self.cache_dir, target, requirements, wheel)
            remote_house = posixpath.join(workdir, "wheelhouses")
            note(f"uploading the wheelhouse ({sum(1 for _ in house.glob('*.whl'))} wheels) "
                 "for an offline install")
            stage_in(client, house, remote_house)
            remote_house = posixpath.join(remote_house, house.name)
            find_links = ["--no-index", "--find-links", q(remote_house)]
            own.append(q(posixpath.join(remote_house, wheel.name)))
        elif wheel is not None:
            remote_wheels = posixpath.join(workdir, "wheels")
            stage_in(client, wheel, remote_wheels)
            own.append(q(posixpath.join(remote_wheels, wheel.name)))
        tmp = f"{env}.tmp-{secrets.token_hex(4)}"
        venv_options = " --system-site-packages" if site.python.mode == "existing" else ""
        pip = f"{q(tmp)}/bin/python -m pip install --disable-pip-version-check --quiet"
        # An offline site must not reach any index, not even one a pip.conf names.
        pip_env = "PIP_CONFIG_FILE=/dev/null " if site.python.offline else ""
        script = "\n".join([
            "set -e",
            f"mkdir -p {q(posixpath.dirname(env))}",
            f"{q(base)} -m venv{venv_options} {q(tmp)}",
            f"{pip_env}{pip} {' '.join(find_links)} {' '.join(packages)}",
            *([f"{pip_env}{pip} --no-deps {' '.join(find_links)} {' '.join(own)}"]
              if own else []),
            f"touch {q(tmp)}/{READY_MARK}",
            # lost a race with another server: keep theirs, drop ours
            f"mv -T {q(tmp)} {q(env)} 2>/dev/null || rm -rf {q(tmp)}",
        ])
        status, out, err = ssh.run(client, login_shell(script), timeout=self.timeout)
        if status != 0:
            ssh.run(client, f"rm -rf {q(tmp)}", timeout=60)
            tail = "\n".join((err.strip() or out.strip()).splitlines()[-10:])
            hint = ""
            if "ensurepip" in tail or "venv" in tail:
                hint = " (the site's Python lacks the venv module: install python3-venv there)"
            elif not site.python.offline and ("Could not find" in tail or "connection" in
                                              tail.lower()):
                hint = (" (the site may have no internet access: set the site's python "
                        "'offline' option to upload a wheelhouse instead)")
            raise SiteEnvironmentError(f"bootstrapping the environment on the site failed"
                                       f"{hint}:\n{tail}")
        log.info("eflows: environment %s ready on %s", env, site.name)


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
