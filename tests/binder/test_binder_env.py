"""The Binder set-up in ``binder/``, checked by doing what repo2docker does with it.

repo2docker (Binder's builder) runs, from the repository root, ``pip install -r
binder/requirements.txt`` and then ``binder/postBuild``, with the environment's ``bin/``
first on PATH, and starts a Jupyter server in the repository root. These tests do the
same in a fresh virtualenv (no Docker: the image would add nothing these checks see),
then start ``jupyter lab`` from it with HOME and every Jupyter directory in a temporary
directory, so nothing of this machine's Jupyter set-up (or of .venv) helps it pass.

pip uses the machine's configuration and cache, so a warm cache makes this about half a
minute of installing; the whole module takes about a minute and a half.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.binder, pytest.mark.slow, pytest.mark.timeout(900)]

QUICKSTART = "notebooks/quickstart.ipynb"
QUICKSTART_URL = f"/lab/tree/{QUICKSTART}"


@dataclass
class BinderEnv:
    venv: Path
    env: dict[str, str]  # the environment the Jupyter commands run with

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(list(args), cwd=REPO, env=self.env, capture_output=True,
                                text=True, timeout=timeout)
        assert result.returncode == 0, (f"{' '.join(args)} failed ({result.returncode}):\n"
                                        f"{result.stdout}\n{result.stderr}")
        return result


def _base_python() -> str:
    """The interpreter .venv was made from, as Binder's environment has none of .venv's
    packages."""
    return getattr(sys, "_base_executable", None) or sys.executable


def _without_venv(environ: dict[str, str], venv: Path) -> dict[str, str]:
    """``environ`` as repo2docker's build step sees it: ``venv/bin`` first on PATH, no
    trace of the virtualenv the tests run in."""
    env = {k: v for k, v in environ.items()
           if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "CONDA_PREFIX"}}
    own_bin = str(Path(sys.prefix) / "bin")
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != own_bin]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *path])
    return env


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory: pytest.TempPathFactory) -> BinderEnv:
    """A virtualenv built from ``binder/`` exactly as repo2docker builds the image."""
    root = tmp_path_factory.mktemp("binder")
    venv = root / "venv"
    subprocess.run([_base_python(), "-m", "venv", str(venv)], check=True, timeout=120)
    build_env = _without_venv(dict(os.environ), venv)
    started = time.monotonic()
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "-r",
                          "binder/requirements.txt"], cwd=REPO, env=build_env,
                         capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, f"pip install -r binder/requirements.txt:\n{pip.stderr}"
    print(f"binder: pip install took {time.monotonic() - started:.0f} s")
    post_build = REPO / "binder" / "postBuild"
    if post_build.exists():
        assert os.access(post_build, os.X_OK), "repo2docker runs binder/postBuild directly"
        subprocess.run(["./binder/postBuild"], cwd=REPO, env=build_env, check=True,
                       timeout=120)
    # Run time: a HOME and Jupyter directories of its own, no Jupyter or eflows settings
    # from this machine (the kernel must find its engine on the local engine).
    home = root / "home"
    home.mkdir()
    env = {k: v for k, v in build_env.items()
           if not k.startswith(("JUPYTER", "EFLOWS_", "IPYTHON"))}
    env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
               JUPYTER_DATA_DIR=str(home / ".local/share/jupyter"),
               JUPYTER_RUNTIME_DIR=str(home / ".local/share/jupyter/runtime"),
               IPYTHONDIR=str(home / ".ipython"), EFLOWS_WORKERS="2")
    return BinderEnv(venv, env)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    token: str

    def get(self, path: str, auth: bool = True) -> tuple[int, str, str]:
        """(status, final URL after redirects, body) of ``GET path``."""
        request = urllib.request.Request(self.url + path)
        if auth:
            request.add_header("Authorization", f"token {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.url, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.url, exc.read().decode(errors="replace")


@pytest.fixture(scope="module")
def lab(binder_env: BinderEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``jupyter lab`` from the Binder environment, in the repository root (as Binder)."""
    port, token = _free_port(), secrets.token_hex(16)
    args = [binder_env.bin("jupyter"), "lab", "--no-browser", "--ip=127.0.0.1",
            f"--port={port}", f"--IdentityProvider.token={token}"]
    if os.getuid() == 0:
        args.append("--allow-root")
    log = (tmp_path_factory.mktemp("lab") / "jupyter.log").open("w+")
    process = subprocess.Popen(args, cwd=REPO, env=binder_env.env, stdout=log,
                               stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", token)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, f"jupyter lab exited: {_read(log)}"
            try:
                if server.get("/api/status")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"jupyter lab did not start: {_read(log)}"
            time.sleep(0.5)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _read(log: object) -> str:
    log.seek(0)  # type: ignore[attr-defined]
    return log.read()  # type: ignore[attr-defined]


def test_root_opens_the_quickstart_in_jupyterlab(lab: Server) -> None:
    status, url, body = lab.get(f"/?token={lab.token}", auth=False)
    assert status == 200
    assert urllib.parse.urlsplit(url).path == QUICKSTART_URL
    assert "JupyterLab" in body  # the lab page, not a file listing
    # ...and the path names the notebook in the server's root (the repository).
    status, _, body = lab.get(f"/api/contents/{QUICKSTART}?content=0")
    assert status == 200 and json.loads(body)["type"] == "notebook"


def test_the_extension_answers(lab: Server) -> None:
    status, _, body = lab.get("/eflows/api/status")
    assert status == 200, body
    assert json.loads(body)["version"]
    assert lab.get("/eflows/api/status", auth=False)[0] in (401, 403)


def test_the_eflows_kernelspec_is_installed(binder_env: BinderEnv) -> None:
    listed = json.loads(binder_env.run(binder_env.bin("jupyter"), "kernelspec", "list",
                                       "--json").stdout)["kernelspecs"]
    assert listed["eflows"]["spec"]["display_name"] == "eFlows4HPC (Python 3)"
    # It is the Binder environment's own, not one of this machine's.
    assert Path(listed["eflows"]["resource_dir"]).is_relative_to(binder_env.venv)


def test_the_quickstart_runs_on_the_local_engine(binder_env: BinderEnv,
                                                 tmp_path: Path) -> None:
    binder_env.run(binder_env.bin("jupyter"), "nbconvert", "--to", "notebook", "--execute",
                   "--ExecutePreprocessor.store_widget_state=False",
                   "--ExecutePreprocessor.timeout=180", f"--output-dir={tmp_path}", QUICKSTART)
    executed = json.loads((tmp_path / "quickstart.ipynb").read_text())
    assert executed["metadata"]["kernelspec"]["name"] == "eflows"
    code = [c for c in executed["cells"] if c["cell_type"] == "code"]
    outputs = [o for c in code for o in c["outputs"]]
    # The quickstart shows a failing task on purpose, in the one cell tagged so (as nbval
    # reads it); every other cell runs without an error.
    expected = [c for c in code if "raises-exception" in c["metadata"].get("tags", [])]
    assert [c for c in code if any(o["output_type"] == "error" for o in c["outputs"])] \
        == expected
    assert len(expected) == 1
    text = "".join("".join(o.get("text", "")) for o in outputs)
    assert "engine running: True" in text
    assert "sum of squares: 140" in text
