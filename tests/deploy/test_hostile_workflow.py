"""A hostile workflow (imported from a registry we do not control) against the real cluster.

Its defaults and its movements are its choice, not the user's: they may name the vault
key, the state database or any file of the server's account. Nothing of that may reach
the site, and what the user does send arrives readable by the login alone.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from eflows_kernel.services.deploy.staging import plan
from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.workflows import workflow_from_folder
from tests.deploy.stack import APPS, RemoteServer, Stack


def _folder(tmp_path: Path, description: dict) -> Path:
    folder = tmp_path / "imported" / "hostile"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "echo_args.py").write_text((APPS / "echo_args.py").read_text())
    (folder / "workflow.yaml").write_text(yaml.safe_dump(description))
    return folder


def _private_data(tmp_path: Path) -> Path:
    data = tmp_path / "jupyter-data" / "eflows"
    data.mkdir(parents=True)
    (data / "vault.key").write_bytes(os.urandom(32))
    (data / "vault.key").chmod(0o600)
    return data


def _server(stack: Stack, protected: tuple[Path, ...]) -> RemoteServer:
    stack.executor.shutdown()
    stack.executor = RemoteServer(stack.executions, stack.registry, stack.vault, stack.sites,
                                  stack.runs_dir, stack.cache, protected)
    return stack.executor


def _runs_on_site(stack: Stack) -> set[str]:
    runs = stack.sshd.home / "eflows" / "runs"
    return {p.name for p in runs.iterdir()} if runs.is_dir() else set()


@pytest.mark.parametrize("default", ["/etc/hostname", "../../jupyter-data/eflows/vault.key",
                                     "~/.bashrc", "VAULT"])
def test_a_default_path_the_user_never_gave_is_not_uploaded(stack: Stack, tmp_path: Path,
                                                            default: str) -> None:
    data = _private_data(tmp_path)
    default = str(data / "vault.key") if default == "VAULT" else default
    folder = _folder(tmp_path, {
        "name": "hostile", "application": "src/echo_args.py",
        "arguments": ["out.json", "${secret}"],
        "inputs": [{"name": "secret", "type": "path", "required": False,
                    "default": default}]})
    workflow = stack.registry.register_folder(folder)
    server = _server(stack, (data,))
    before = _runs_on_site(stack)
    with pytest.raises(ValidationError) as refused:
        server.submit(workflow.id, {}, "cluster", credential_id=stack.credential)
    assert "secret" in refused.value.details.get("fields", {}), refused.value.details
    assert server.list().total == 0 and _runs_on_site(stack) == before


def test_protected_files_are_refused_even_when_the_user_names_them(stack: Stack,
                                                                   tmp_path: Path) -> None:
    data = _private_data(tmp_path)
    workflow = stack.registry.register_spec({
        "name": "echo", "inputs": [{"name": "f", "type": "path"}],
        "steps": [{"name": "s", "application": str(APPS / "echo_args.py"),
                   "arguments": ["out.json", "${f}"]}]})
    server = _server(stack, (data,))
    for named in (data / "vault.key", data, data.parent):
        with pytest.raises(ValidationError, match="never uploaded"):
            server.submit(workflow.id, {"f": str(named)}, "cluster",
                          credential_id=stack.credential)
    link = tmp_path / "innocent.txt"
    link.symlink_to(data / "vault.key")
    with pytest.raises(ValidationError, match="never uploaded"):
        server.submit(workflow.id, {"f": str(link)}, "cluster", credential_id=stack.credential)
    assert server.list().total == 0


def test_a_local_movement_outside_the_workflow_folder_is_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path, {
        "name": "mover", "application": "src/echo_args.py", "arguments": ["out.json"],
        "inputs": [{"name": "dir", "type": "path"}],
        "data_movements": [
            {"name": "etc", "direction": "in", "kind": "local", "source": "/etc/hostname"},
            {"name": "up", "direction": "in", "kind": "local", "source": "${dir}/../x"},
            {"name": "own", "direction": "in", "kind": "local", "source": "src"},
            {"name": "mine", "direction": "in", "kind": "local", "source": "${dir}/a"}]})
    (tmp_path / "given").mkdir()
    (tmp_path / "given" / "a").write_text("a")
    (tmp_path / "x").write_text("x")
    workflow = workflow_from_folder(folder)
    with pytest.raises(ValidationError) as refused:
        plan(workflow, {"dir": str(tmp_path / "given")})
    assert set(refused.value.details["fields"]) == {"etc", "up"}, refused.value.details


def test_what_is_uploaded_keeps_its_mode_and_the_run_folder_is_private(
        stack: Stack, tmp_path: Path) -> None:
    folder = _folder(tmp_path, {
        "name": "private", "application": "src/echo_args.py",
        "arguments": ["out.json", "${secret}"],
        "inputs": [{"name": "secret", "type": "path", "required": False,
                    "default": "data/secret.txt"}]})
    (folder / "data").mkdir()
    (folder / "data" / "secret.txt").write_text("only mine\n")
    (folder / "data" / "secret.txt").chmod(0o600)
    (folder / "src" / "echo_args.py").chmod(0o640)
    workflow = stack.registry.register_folder(folder)
    execution = stack.executor.submit(workflow.id, {}, "cluster",
                                      credential_id=stack.credential)
    done = stack.wait(execution.id, timeout=600)
    assert done.state.value == "done", done.error
    run_dir = stack.sshd.home / "eflows" / "runs" / execution.id
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    uploaded = run_dir / "inputs" / "secret" / "secret.txt"
    assert uploaded.read_text() == "only mine\n"
    assert stat.S_IMODE(uploaded.stat().st_mode) == 0o600
    app = run_dir / "app" / "hostile" / "src" / "echo_args.py"
    assert stat.S_IMODE(app.stat().st_mode) == 0o640
