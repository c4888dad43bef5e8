"""Pytest plugin: a real JupyterHub whose SlurmSpawner starts users' servers as Slurm jobs.

Registered by the root conftest; ``hub`` (session scope: one hub per test session) runs
the centre's ``docs/centre/jupyterhub_config.py`` through ``tests/hub/
jupyterhub_test_config.py`` (free ports, files in a temporary folder), after the test
Slurm (tests/cluster/setup_slurm.sh), the hub's Unix users and their servers'
environment (tests/cluster/setup_hub.sh) are there. Users log in with their password
(PAM), as in a browser, and act with a token of their own. Root is needed (PAM, runuser, the
users' accounts); without it the tests fail, never skip.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
TEST_CONFIG = REPO / "tests" / "hub" / "jupyterhub_test_config.py"
SETUP_SCRIPT = REPO / "tests" / "cluster" / "setup_hub.sh"
HUB_USERS = ("eflows-alice", "eflows-bob")
HUB_GROUPS = {"eflows-alice": "physics", "eflows-bob": "chemistry"}
# The centre's published catalogue on the test hub (tests/hub/jupyterhub_test_config.py
# grants it to physics only): the registry-layout fixture, copied where the users can read.
CATALOGUE_FIXTURE = REPO / "tests" / "fixtures" / "workflow-registry" / "minimal_workflow"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_job(user: str) -> dict[str, str] | None:
    """The Slurm job of the user's server (batchspawner names it): id, state, user, CPUs."""
    out = subprocess.run(["squeue", "-h", "-n", f"jupyterhub-{user}", "-o", "%i %T %u %C"],
                         capture_output=True, text=True, check=True).stdout.split()
    if not out:
        return None
    return dict(zip(("id", "state", "user", "cpus"), out[:4], strict=True))


@dataclass
class HubUser:
    """One user logged in to the hub (cookie session) with an API token of their own."""

    hub: Hub
    name: str
    session: Any  # requests.Session with the login cookies
    token: str

    @property
    def server_url(self) -> str:
        """The user's server through the hub's proxy: ``/user/<name>/``."""
        return f"{self.hub.url}user/{self.name}/"

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """A request to the hub's REST API with the user's token."""
        import requests

        return requests.request(method, f"{self.hub.url}hub/api/{path}",
                                headers={"Authorization": f"token {self.token}"},
                                timeout=30, **kwargs)

    def server(self, method: str, path: str, token: str | None = None,
               **kwargs: Any) -> Any:
        """A request to a path of the user's own server through the proxy."""
        import requests

        return requests.request(method, self.server_url + path,
                                headers={"Authorization": f"token {token or self.token}"},
                                timeout=60, **kwargs)

    def start(self, timeout: float = 240) -> float:
        """Start the user's server (a Slurm job) and wait until it answers; the seconds."""
        began = time.monotonic()
        response = self.api("POST", f"users/{self.name}/server")
        assert response.status_code in (201, 202), (response.status_code, response.text)
        self.wait_ready(timeout)
        return time.monotonic() - began

    def wait_ready(self, timeout: float = 240) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            model = self.api("GET", f"users/{self.name}").json()
            server = model.get("servers", {}).get("", {})
            if server.get("ready"):
                return server
            assert time.monotonic() < deadline, (model, self.hub.log_tail())
            assert server or model.get("pending"), (model, self.hub.log_tail())
            time.sleep(0.3)

    def stop(self, timeout: float = 120) -> None:
        """Stop the user's server as the user does (File > Hub Control Panel > Stop)."""
        response = self.api("DELETE", f"users/{self.name}/server")
        assert response.status_code in (202, 204), (response.status_code, response.text)
        self.wait_stopped(timeout)

    def wait_stopped(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            model = self.api("GET", f"users/{self.name}").json()
            if not model.get("servers") and not model.get("pending"):
                return
            assert time.monotonic() < deadline, (model, self.hub.log_tail())
            time.sleep(0.3)


@dataclass
class Hub:
    url: str  # the proxy, as users reach it: http://127.0.0.1:<port>/
    password: str
    culler_token: str  # the idle culler's role (tests/hub/jupyterhub_test_config.py)
    state: Path
    process: subprocess.Popen[bytes]
    server_env: Path  # the users' servers' Python environment (tests/cluster/setup_hub.sh)
    users: dict[str, HubUser] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"{self.url}hub/api"

    def log_tail(self, lines: int = 60) -> str:
        text = (self.state / "jupyterhub.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def login(self, name: str, password: str | None = None) -> HubUser:
        """Log in through the hub's login form (PAM), then ask the hub for a token."""
        if name in self.users:
            return self.users[name]
        import requests

        session = requests.Session()
        page = session.get(f"{self.url}hub/login", timeout=30)
        assert page.status_code == 200, page.text
        xsrf = session.cookies.get("_xsrf", path="/hub/")
        response = session.post(f"{self.url}hub/login?next=", timeout=30,
                                data={"username": name,
                                      "password": password or self.password, "_xsrf": xsrf},
                                allow_redirects=False)
        assert response.status_code == 302, (response.status_code, response.text[:500])
        # The XSRF token is bound to the login session: the one of the logged-in pages.
        session.get(f"{self.url}hub/home", timeout=30)
        xsrf = session.cookies.get("_xsrf", path="/hub/")
        response = session.post(f"{self.url}hub/api/users/{name}/tokens", timeout=30,
                                headers={"X-XSRFToken": xsrf, "Referer": f"{self.url}hub/"},
                                json={"note": "eflows hub tests", "expires_in": 7200})
        assert response.status_code == 201, (response.status_code, response.text)
        user = HubUser(self, name, session, response.json()["token"])
        self.users[name] = user
        return user


@pytest.fixture(scope="session")
def hub(slurm_cluster: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    if os.geteuid() != 0:
        pytest.fail("the hub tests start JupyterHub as root (PAM, servers as the users' "
                    "Slurm jobs); run them as root (as CI does)")
    if shutil.which("configurable-http-proxy") is None:
        pytest.fail("configurable-http-proxy is not installed: scripts/"
                    "install-system-packages.sh installs it (scripts/npm-packages.txt)")
    password = os.environ.get("EFLOWS_TEST_PASSWORD", "eflows-test-pw")
    result = subprocess.run(["bash", str(SETUP_SCRIPT), sys.prefix], capture_output=True,
                            text=True, timeout=120,
                            env={**os.environ, "EFLOWS_TEST_PASSWORD": password})
    if result.returncode != 0:
        pytest.fail(f"setup_hub.sh failed:\n{result.stdout}\n{result.stderr}")
    server_env = result.stdout.strip().splitlines()[-1].partition("=")[2]
    _cancel_server_jobs()  # a session killed earlier may have left one
    _forget_users_state()
    state = tmp_path_factory.mktemp("jupyterhub")
    state.chmod(0o755)
    shared = _users_readable_folder()
    port = _free_port()
    culler_token = secrets.token_hex(24)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("EFLOWS_", "JUPYTER", "SLURM_"))}
    env.update(EFLOWS_HUB_DIR=str(state), EFLOWS_HUB_PORT=str(port),
               EFLOWS_HUB_API_PORT=str(_free_port()), EFLOWS_HUB_PROXY_PORT=str(_free_port()),
               EFLOWS_HUB_CULLER_TOKEN=culler_token, EFLOWS_SERVER_ENV=server_env,
               EFLOWS_HUB_SHARED_DIR=str(shared))
    bin_dir = Path(sys.executable).parent
    process = subprocess.Popen([str(bin_dir / "jupyterhub"), "-f", str(TEST_CONFIG)],
                               cwd=state, env=env, start_new_session=True,
                               stdout=open(state / "jupyterhub.log", "wb"),  # noqa: SIM115
                               stderr=subprocess.STDOUT)
    hub = Hub(f"http://127.0.0.1:{port}/", password, culler_token, state, process,
              Path(server_env))
    try:
        _wait_for_hub(hub)
        yield hub
    finally:
        _stop_hub(hub)
        _cancel_server_jobs()
        shutil.rmtree(shared, ignore_errors=True)


def _users_readable_folder() -> Path:
    """What the users' servers read that the centre publishes (the catalogue, their config):
    pytest's temporary folders are root's own (0700), so a folder of its own in /tmp."""
    shared = Path(tempfile.mkdtemp(prefix="eflows-hub-shared-"))
    shared.chmod(0o755)
    catalogue = shared / "workflow-registry" / CATALOGUE_FIXTURE.name
    shutil.copytree(CATALOGUE_FIXTURE, catalogue)
    for path in [shared / "workflow-registry", *catalogue.rglob("*"), catalogue]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return shared


def _wait_for_hub(hub: Hub, timeout: float = 90) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(hub.api_url, timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        if hub.process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"JupyterHub did not start:\n{hub.log_tail()}")
        time.sleep(0.3)


def _stop_hub(hub: Hub) -> None:
    """SIGTERM: the hub stops every server (cleanup_servers: their jobs are cancelled),
    its services and its proxy, then exits."""
    if hub.process.poll() is None:
        hub.process.send_signal(signal.SIGTERM)
        try:
            hub.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(hub.process.pid, signal.SIGKILL)
            hub.process.wait(10)
    pid_file = hub.state / "proxy.pid"
    if pid_file.exists():
        pid = pid_file.read_text().strip()
        if re.fullmatch(r"\d+", pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGTERM)


def _forget_users_state() -> None:
    """Each session's users start with an empty eflows state (their sites, keys, workflows,
    executions): an earlier session's would collide with the names the tests create."""
    for user in HUB_USERS:
        home = Path(pwd.getpwnam(user).pw_dir)
        shutil.rmtree(home / ".local" / "share" / "jupyter" / "eflows", ignore_errors=True)


def _cancel_server_jobs() -> None:
    for user in HUB_USERS:
        subprocess.run(["scancel", "-n", f"jupyterhub-{user}", "-u", user], check=False,
                       capture_output=True)
