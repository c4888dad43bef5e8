"""Fixtures for the browser tests: Debian's Chromium through Playwright, and real servers.

* ``browser`` (package scope): a headless Playwright Chromium ``Browser`` (sync API), launched from
  /usr/bin/chromium (scripts/system-packages.txt) — never ``playwright install``.
* ``page``: a ``Page`` in a fresh 1400x900 context; if the test fails, a screenshot and the
  browser console go to test-artifacts/FAILED-<test>.png / .log.
* ``voila_server(notebook_path, *, extra_args=(), env=None, timeout=60) -> str``: starts
  ``voila <notebook>`` on a free port and returns its URL (``http://127.0.0.1:<port>/``).
* ``jupyter_server_factory(root_dir, *, extra_args=(), env=None, timeout=60) -> JupyterServer``:
  a private ``jupyter lab`` with a random token, for a test that needs a server configuration
  of its own (settings, state it checks exactly); ``JupyterServer`` is a ``(url, token)``
  named tuple.
* ``lab_folder -> LabFolder``: a folder of the test's own in ONE ``jupyter lab`` shared by
  tests/browser (``shared_lab``: ``lab_env`` state, ``EFLOWS_WORKERS=2``, run events in
  ``runs/`` next to each notebook), with the URLs to open a notebook there in JupyterLab (a
  workspace per test), Notebook 7 or Voila; the test's kernels are shut down after it.

Servers run from the venv with an isolated Jupyter config/runtime/lab-settings directory, and
are stopped — with every kernel they started — when the test (the shared one: tests/browser)
ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import psutil
import pytest

from tests.browser import ARTIFACTS, slug

VENV_BIN = Path(sys.executable).parent
CHROMIUM = Path(os.environ.get("EFLOWS_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}
# Playwright's default for every wait/action on a page (kernel start + widget render can take
# 10-20 s on a small machine).
PAGE_TIMEOUT_MS = 60_000
SERVER_START_TIMEOUT = 60.0


# ---------------------------------------------------------------------------------------------
# Browser


# pytest-jupyter (loaded by tests/conftest.py) gives every test an asyncio loop of its own and
# closes it afterwards; here Playwright's sync API owns this thread's (running) loop, so those
# autouse fixtures are switched off. The browser tests drive servers in subprocesses instead.
@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> Iterator[None]:
    yield None


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> Iterator[None]:
    yield


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """Remember each phase's report on the item (``item.rep_call``) for on-failure artefacts."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    report = getattr(request.node, "rep_call", None)
    return report is None or report.failed


# Package scope, not session: while Playwright's sync API is alive its event loop counts as
# running in this thread, which breaks pytest-jupyter's per-test loop in the other test packages.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """A headless Chromium (Playwright sync API ``Browser``), shared by tests/browser."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install the Debian packages in "
                    "scripts/system-packages.txt (scripts/install-system-packages.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # launch() gives every browser a fresh temporary user data dir.
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page in a new 1400x900 context; on failure its screenshot and console are saved."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    new_page = context.new_page()
    console: list[str] = []
    new_page.on("console", lambda msg: console.append(f"[{msg.type}] {msg.text}"))
    new_page.on("pageerror", lambda exc: console.append(f"[pageerror] {exc}"))
    new_page.on("requestfailed", lambda req: console.append(
        f"[requestfailed] {req.url}: {req.failure}"))
    yield new_page
    if _failed(request):
        name = f"FAILED-{slug(request.node.nodeid)}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"{name}.log").write_text("\n".join(console) + "\n")
        try:
            new_page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        except Exception as exc:  # the page may be gone; the failure itself matters more
            print(f"could not save the failure screenshot: {exc}")
    context.close()


# ---------------------------------------------------------------------------------------------
# Servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_env(base: Path, extra: Mapping[str, str] | None) -> dict[str, str]:
    """The environment of a server: the venv first on PATH, Jupyter state kept under ``base``."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    # The user's ~/.jupyter config, runtime files and JupyterLab settings/workspaces must not
    # leak into (or out of) the tests. Kernel specs are still found in the venv and user dirs.
    env["JUPYTER_CONFIG_DIR"] = str(base / "config")
    env["JUPYTER_RUNTIME_DIR"] = str(base / "runtime")
    settings = base / "lab-settings"
    env["JUPYTERLAB_SETTINGS_DIR"] = str(settings)
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(base / "lab-workspaces")
    # No "fetch Jupyter news?" toast over the page, no update check (there is no network).
    notification = settings / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)
    notification /= "notification.jupyterlab-settings"
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env.update(extra or {})
    return env


def _check_kernel(notebook: Path, env: Mapping[str, str]) -> None:
    """Fail unless the kernel named in the notebook's metadata is installed for the server.

    Voilà runs the kernel named in ``metadata.kernelspec.name``, but when it is missing it
    silently falls back to another kernel of the same language; the tests must not.
    """
    name = json.loads(notebook.read_text()).get("metadata", {}).get("kernelspec", {}).get("name")
    if not name:
        return
    out = subprocess.run([str(VENV_BIN / "jupyter"), "kernelspec", "list", "--json"], env=env,
                         capture_output=True, text=True, check=True, timeout=60).stdout
    specs = json.loads(out)["kernelspecs"]
    if name not in specs:
        pytest.fail(f"{notebook.name} needs kernel {name!r}, not installed (have {sorted(specs)})")


class _Server:
    """A server subprocess: started, polled until it answers HTTP, stopped with its kernels."""

    def __init__(self, name: str, cmd: Sequence[str], *, cwd: Path, env: Mapping[str, str],
                 log: Path, probe_url: str) -> None:
        self.name, self.cmd, self.cwd, self.env = name, list(cmd), cwd, dict(env)
        self.log, self.probe_url = log, probe_url
        self.proc: subprocess.Popen[bytes] | None = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def start(self, timeout: float) -> None:
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.probe_url, timeout=5):
                    return
            except urllib.error.HTTPError:
                return  # it answers HTTP, whatever the status
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        self.stop()
        pytest.fail(f"{self.name} did not answer {self.probe_url} within {timeout:.0f} s:\n"
                    f"{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM (the server shuts its kernels down), then kill whatever is left."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            # Kernels run in sessions of their own: find them through the process tree.
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        _, alive = psutil.wait_procs(children, timeout=5)
        for child in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        psutil.wait_procs(alive, timeout=5)


@pytest.fixture
def _servers(request: pytest.FixtureRequest) -> Iterator[list[_Server]]:
    """The servers a test started, stopped (newest first) at its end."""
    servers: list[_Server] = []
    yield servers
    failed = _failed(request)
    for server in reversed(servers):
        if failed:
            print(f"--- {server.name} log ({server.log}) ---\n{server.log_tail()}")
        server.stop()


@pytest.fixture
def voila_server(tmp_path_factory: pytest.TempPathFactory,
                 _servers: list[_Server]) -> Callable[..., str]:
    """Factory: ``voila_server(notebook_path, *, extra_args=(), env=None, timeout=60) -> url``.

    Starts ``voila <notebook_path>`` (root dir: the notebook's directory) on a free port of
    127.0.0.1 and returns ``http://127.0.0.1:<port>/``, which renders the notebook with the
    kernel named in its metadata (checked to be installed). ``extra_args`` are appended to the
    command line, ``env`` is merged into the server's environment. Stopped, with its kernels,
    when the test ends.
    """

    def start(notebook_path: str | os.PathLike[str], *, extra_args: Sequence[str] = (),
              env: Mapping[str, str] | None = None,
              timeout: float = SERVER_START_TIMEOUT) -> str:
        notebook = Path(notebook_path).resolve()
        base = tmp_path_factory.mktemp("voila")
        server_env = _server_env(base, env)
        _check_kernel(notebook, server_env)
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        # Voilà is not a Jupyter ServerApp: it has no root check, so no --allow-root.
        cmd = [str(VENV_BIN / "voila"), str(notebook), "--no-browser", f"--port={port}",
               "--Voila.ip=127.0.0.1", "--Voila.port_retries=0", *extra_args]
        server = _Server("voila", cmd, cwd=notebook.parent, env=server_env,
                         log=base / "voila.log",
                         # a static URL: probing "/" would start a kernel and run the notebook
                         probe_url=f"{url}voila/static/")
        _servers.append(server)
        server.start(timeout)
        return url

    return start


class JupyterServer(NamedTuple):
    """A running ``jupyter lab``: ``url`` (ends with "/") and its auth ``token``."""

    url: str
    token: str

    def at(self, path: str) -> str:
        """The URL of ``path`` (relative to the server root) with the token in the query."""
        sep = "&" if "?" in path else "?"
        return f"{self.url}{path.lstrip('/')}{sep}token={self.token}"


def _jupyter_lab(root: Path, env: Mapping[str, str], log: Path,
                 extra_args: Sequence[str] = ()) -> tuple[_Server, JupyterServer]:
    """A ``jupyter lab`` (not started yet) serving ``root`` on a free port, random token."""
    token = secrets.token_hex(16)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    cmd = [str(VENV_BIN / "jupyter"), "lab", "--no-browser", f"--port={port}",
           "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           *(["--allow-root"] if os.geteuid() == 0 else []), *extra_args]
    server = _Server("jupyter lab", cmd, cwd=root, env=env, log=log, probe_url=f"{url}api")
    return server, JupyterServer(url, token)


@pytest.fixture
def jupyter_server_factory(tmp_path_factory: pytest.TempPathFactory,
                           _servers: list[_Server]) -> Callable[..., JupyterServer]:
    """Factory: ``jupyter_server_factory(root_dir, *, extra_args=(), env=None, timeout=60)``.

    Starts ``jupyter lab`` serving ``root_dir`` on a free port of 127.0.0.1 with a random token
    (``--allow-root`` when running as root) and returns a ``JupyterServer(url, token)``. Voilà's
    server extension is enabled in the venv, so ``/voila/render/<notebook>`` works. Stopped,
    with its kernels, when the test ends.
    """

    def start(root_dir: str | os.PathLike[str], *, extra_args: Sequence[str] = (),
              env: Mapping[str, str] | None = None,
              timeout: float = SERVER_START_TIMEOUT) -> JupyterServer:
        base = tmp_path_factory.mktemp("jupyter")
        server, lab = _jupyter_lab(Path(root_dir).resolve(), _server_env(base, env),
                                   base / "jupyter.log", extra_args)
        _servers.append(server)
        server.start(timeout)
        return lab

    return start




@pytest.fixture
def jupyter_server(jupyter_server_factory: Callable[..., JupyterServer],
                   tmp_path: Path) -> JupyterServer:
    """A ``jupyter lab`` serving the test's ``tmp_path``: ``(url, token)``."""
    return jupyter_server_factory(tmp_path)


# ---------------------------------------------------------------------------------------------
# One JupyterLab for the tests that need no server configuration of their own


class LabFolder(NamedTuple):
    """A test's own folder in the shared JupyterLab: ``path`` on disk, ``rel`` to the root;
    ``data_dir`` is the server's ``JUPYTER_DATA_DIR`` (its notary: what it trusts)."""

    server: JupyterServer
    path: Path
    rel: str
    workspace: str
    data_dir: Path

    def lab(self, name: str) -> str:
        """``name`` (in the folder) opened in JupyterLab, in a workspace of the test's own:
        the shared server's default workspace would reopen the previous tests' notebooks."""
        return self.server.at(f"lab/workspaces/{self.workspace}/tree/{self.rel}/{name}")

    def notebook(self, name: str) -> str:
        """``name`` opened in Notebook 7."""
        return self.server.at(f"notebooks/{self.rel}/{name}")

    def voila(self, name: str) -> str:
        """``name`` rendered by Voila's server extension."""
        return self.server.at(f"voila/render/{self.rel}/{name}")


def _api(server: JupyterServer, method: str, path: str) -> Any:
    request = urllib.request.Request(f"{server.url}{path}", method=method,
                                     headers={"Authorization": f"token {server.token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    return json.loads(body) if body else None


# One server for tests/browser (as pytest-jupyter's jp_serverapp is one per test but
# galata's is one per run): starting JupyterLab costs 5-10 s of the 2 shared cores.
SHARED_LAB_ENV = {"EFLOWS_WORKERS": "2",
                  # relative: the kernel's working directory, i.e. each test's own folder
                  "EFLOWS_EVENT_LOG_DIR": "runs"}


@pytest.fixture(scope="package")
def shared_lab(tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[_Server, JupyterServer]]:
    """``jupyter lab`` shared by tests/browser: state of its own (``lab_env``), 2 local
    workers per eFlows kernel, each run's events in ``runs/`` next to its notebook.

    The kernels must find *this* server: an ``EFLOWS_URL``/``EFLOWS_TOKEN`` of the
    caller's would win over the ones the extension exports, so they are left out.
    """
    from tests.browser import lab_env

    base = tmp_path_factory.mktemp("shared-lab")
    root = base / "root"
    root.mkdir()
    env = _server_env(base, {**lab_env(base), **SHARED_LAB_ENV})
    for name in ("EFLOWS_URL", "EFLOWS_TOKEN"):
        env.pop(name, None)
    server, lab = _jupyter_lab(root, env, base / "jupyter.log")
    server.start(SERVER_START_TIMEOUT)
    try:
        yield server, lab
    finally:
        server.stop()


@pytest.fixture
def lab_folder(shared_lab: tuple[_Server, JupyterServer],
               request: pytest.FixtureRequest) -> Iterator[LabFolder]:
    """The test's own folder in the shared JupyterLab; its kernels are shut down after."""
    server, lab = shared_lab
    name = slug(request.node.name)
    path = Path(server.cwd) / name
    path.mkdir()
    # JupyterLab's workspace names are letters, digits, "-" and "_" only
    yield LabFolder(lab, path, name, re.sub(r"[^A-Za-z0-9_-]", "_", name),
                    Path(server.env["JUPYTER_DATA_DIR"]))
    if _failed(request):
        print(f"--- shared jupyter lab log ({server.log}) ---\n{server.log_tail()}")
    for session in _api(lab, "GET", "api/sessions"):
        with contextlib.suppress(urllib.error.HTTPError):
            _api(lab, "DELETE", f"api/sessions/{session['id']}")
    for kernel in _api(lab, "GET", "api/kernels"):
        with contextlib.suppress(urllib.error.HTTPError):
            _api(lab, "DELETE", f"api/kernels/{kernel['id']}")
