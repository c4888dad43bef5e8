"""``%eflows workflows|executions|portal``: in an IPython shell and in the eFlows kernel.

The listings come from ``connect()``; with no server configured that is the in-process
client on the Jupyter data dir, which each test points at its own temporary directory.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kernel.conftest import kernel, run_cell

SPEC = {"name": "magic-wf", "version": "1.2", "description": "for the magic",
        "inputs": {"n": {"type": "integer"}, "label": {"type": "string", "default": "x"}}}


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Jupyter data dir of the test's own, and no server or config file to find."""
    path = tmp_path / "jupyter-data"
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(path))
    monkeypatch.setenv("EFLOWS_CONFIG", str(tmp_path / "no-config.toml"))
    for var in ("EFLOWS_URL", "EFLOWS_TOKEN", "EFLOWS_STATE_URL"):
        monkeypatch.delenv(var, raising=False)
    return path


@pytest.fixture
def registered(data_dir: Path) -> Iterator[dict[str, str]]:
    """A workflow and two of its executions (one running, one failed) in that state."""
    from eflows_kernel.client import LocalClient

    with LocalClient() as client:
        workflow = client.workflows.register_spec(SPEC)
        running = client.execution_store.create(workflow.id, {"n": 3}, site="local")
        client.execution_store.set_state(running.id, "running")
        failed = client.execution_store.create(workflow.id, {"n": 4}, site="local")
        client.execution_store.set_state(failed.id, "failed", error="boom")
        yield {"workflow": workflow.id, "running": running.id, "failed": failed.id}


@pytest.fixture
def shell() -> Iterator[Any]:
    """A fresh IPython shell with ``%eflows`` registered, as the integration does."""
    from IPython.core.interactiveshell import InteractiveShell

    from eflows_kernel.kernel.integration import register_magics

    ipython = InteractiveShell()
    register_magics(ipython)
    yield ipython
    ipython.history_manager.end_session()


def test_workflows_lists_the_registered_workflow(shell: Any,
                                                 registered: dict[str, str]) -> None:
    table = shell.run_line_magic("eflows", "workflows")
    assert table.rows == [{"name": "magic-wf", "id": registered["workflow"], "version": "1.2",
                           "set by": "you", "inputs": "n: integer, label: string"}]
    html = table._repr_html_()
    assert "<table>" in html and registered["workflow"] in html and "magic-wf" in html
    text = repr(table)
    assert text.splitlines()[1].split() == ["name", "id", "version", "set", "by", "inputs"]
    assert "magic-wf" in text and "n: integer, label: string" in text


def test_a_cell_shows_the_table_as_html_and_text(shell: Any,
                                                 registered: dict[str, str]) -> None:
    formatted = shell.display_formatter.format(
        shell.run_cell("%eflows workflows").result)[0]
    assert "magic-wf" in formatted["text/html"] and "magic-wf" in formatted["text/plain"]


def test_executions_lists_state_site_and_workflow(shell: Any,
                                                  registered: dict[str, str]) -> None:
    table = shell.run_line_magic("eflows", "executions")
    by_id = {row["id"]: row for row in table.rows}
    assert set(by_id) == {registered["running"], registered["failed"]}
    running = by_id[registered["running"]]
    assert running["state"] == "running" and running["site"] == "local"
    assert running["workflow"] == f"magic-wf ({registered['workflow']})"
    assert running["created"] and running["updated"] >= running["created"]
    assert by_id[registered["failed"]]["state"] == "failed"

    only_failed = shell.run_line_magic("eflows", "executions --state failed")
    assert [row["id"] for row in only_failed.rows] == [registered["failed"]]
    assert "state failed" in only_failed.title
    both = shell.run_line_magic("eflows", "executions --state failed,running --limit 1")
    assert len(both.rows) == 1 and both.total == 2
    assert "1 of 2 shown" in repr(both) and "1 of 2 shown" in both._repr_html_()


def test_empty_listings_say_so(shell: Any, data_dir: Path) -> None:
    assert "no workflow registered" in repr(shell.run_line_magic("eflows", "workflows"))
    assert "no execution" in shell.run_line_magic("eflows", "executions")._repr_html_()


def test_html_escapes_cells() -> None:
    """Names are restricted by the registry, but error text and inputs are free text."""
    from eflows_kernel.kernel.magics import Table

    html = Table("t<1>", ("a",), [{"a": "x<b>&c"}])._repr_html_()
    assert "x&lt;b&gt;&amp;c" in html and "t&lt;1&gt;" in html and "<b>&c" not in html


def test_bad_lines_print_usage_and_return_nothing(shell: Any, data_dir: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    for line in ("", "jobs", "executions --limit 0", "executions --bogus", "workflows -h"):
        assert shell.run_line_magic("eflows", line) is None, line
    err = capsys.readouterr().err
    assert "usage: %eflows" in err and "--limit must be at least 1" in err


def test_portal_calls_eflows_kernel_portal_when_there_is_one(
        shell: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import eflows_kernel

    monkeypatch.setattr(eflows_kernel, "portal", lambda: "the portal", raising=False)
    assert shell.run_line_magic("eflows", "portal") == "the portal"
    monkeypatch.delattr(eflows_kernel, "portal", raising=False)
    assert shell.run_line_magic("eflows", "portal") is None
    assert "has no portal()" in capsys.readouterr().err


def test_the_magic_uses_connect(shell: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's REST client when EFLOWS_URL is set: whatever connect() returns."""
    from eflows_kernel.services.state import Page

    calls: list[tuple[str, Any]] = []

    class FakeWorkflows:
        def list(self, name: str | None = None, limit: int = 50) -> Page[Any]:
            calls.append(("list", (name, limit)))
            return Page[Any](items=[{"id": "w1", "name": "remote", "version": "2",
                                     "inputs": []}], total=1, limit=limit, offset=0)

    fake = types.SimpleNamespace(workflows=FakeWorkflows(),
                                 close=lambda: calls.append(("close", None)))
    client_module = sys.modules["eflows_kernel.client"]
    monkeypatch.setattr(client_module, "connect", lambda: fake)
    table = shell.run_line_magic("eflows", "workflows --name remote --limit 5")
    assert [row["name"] for row in table.rows] == ["remote"]
    assert calls == [("list", ("remote", 5)), ("close", None)]


@pytest.mark.timeout(120)
def test_the_eflows_kernel_has_the_magic(kernel_dir: Path, tmp_path: Path,
                                         registered: dict[str, str]) -> None:
    """Registered by the kernel itself: no %load_ext, before the engine is even needed."""
    import os

    with kernel("eflows", kernel_dir, EFLOWS_WORKERS="1",
                JUPYTER_DATA_DIR=os.environ["JUPYTER_DATA_DIR"],
                EFLOWS_CONFIG=os.environ["EFLOWS_CONFIG"]) as (_km, client):
        cell = run_cell(client, "%eflows workflows")
        results = [m["content"]["data"] for m in cell.messages
                   if m["msg_type"] == "execute_result"]
        assert len(results) == 1
        assert registered["workflow"] in results[0]["text/html"]
        assert "magic-wf" in results[0]["text/plain"]
        cell = run_cell(client, "%eflows executions --state running")
        data = next(m["content"]["data"] for m in cell.messages
                    if m["msg_type"] == "execute_result")
        assert registered["running"] in data["text/html"]
        assert registered["failed"] not in data["text/html"]
