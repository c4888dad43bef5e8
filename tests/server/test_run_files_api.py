"""A run's folder over REST (a real local run on a real Jupyter server): files with download
and JupyterLab links, previews, downloads confined to the folder; archive and delete."""

from __future__ import annotations

import asyncio
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.server.specs import hello_spec

WRITER = """
import pathlib
pathlib.Path("table.csv").write_text("x,y\\n1,2\\n3,4\\n")
pathlib.Path("notes").mkdir()
pathlib.Path("notes/read me.txt").write_text("hello files\\n")
pathlib.Path("plot.png").write_bytes(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(8))
print("wrote")
"""


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], jp_root_dir: Path) -> dict[str, Any]:
    """Runs kept under the server's root (as a user's runs dir in their home would be)."""
    jp_server_config["EflowsExtensionApp"]["runs_dir"] = str(jp_root_dir / "eflows-runs")
    return jp_server_config


async def _finished_run(api: Any, tmp_path: Path, name: str = "writer") -> str:
    code, _, wf = await api("POST", "eflows/api/workflows", hello_spec(tmp_path, name, WRITER))
    assert code == 201, wf
    code, _, execution = await api("POST", f"eflows/api/workflows/{wf['id']}/executions",
                                   {"inputs": {}})
    assert code == 201, execution
    for _ in range(1200):
        _, _, body = await api("GET", f"eflows/api/executions/{execution['id']}")
        if body["finished"]:
            assert body["state"] == "done", body
            return str(execution["id"])
        await asyncio.sleep(0.1)
    raise AssertionError("the run did not finish in 120 s")


async def test_files_preview_and_download(api: Any, tmp_path: Path, jp_base_url: str,
                                          jp_fetch: Any) -> None:
    run = await _finished_run(api, tmp_path)
    code, _, body = await api("GET", f"eflows/api/executions/{run}/files")
    assert code == 200, body
    files = {f["path"]: f for f in body["items"]}
    assert {"table.csv", "notes/read me.txt", "plot.png", "output.log"} <= set(files)
    assert files["table.csv"]["kind"] == "csv" and files["plot.png"]["kind"] == "image"
    assert files["table.csv"]["bytes"] == 12
    readme = files["notes/read me.txt"]
    assert readme["url"] == f"{jp_base_url}eflows/api/executions/{run}/files/notes/read%20me.txt"
    assert readme["lab_url"] == f"{jp_base_url}lab/tree/eflows-runs/{run}/notes/read%20me.txt"

    code, _, preview = await api("GET", f"eflows/api/executions/{run}/preview",
                                 params={"path": "table.csv"})
    assert code == 200 and preview["rows"] == [["x", "y"], ["1", "2"], ["3", "4"]]
    code, _, preview = await api("GET", f"eflows/api/executions/{run}/preview",
                                 params={"path": "notes/read me.txt"})
    assert preview["text"] == "hello files\n" and preview["kind"] == "text"

    code, headers, text = await api("GET", f"eflows/api/executions/{run}/files/notes/"
                                    "read me.txt")  # (jp_fetch quotes the path)
    assert code == 200 and text == "hello files\n"
    assert headers["Content-Disposition"].startswith("attachment;")
    assert headers["X-Content-Type-Options"] == "nosniff"
    image = await jp_fetch("eflows", "api", "executions", run, "files", "plot.png",
                           params={"inline": "1"})
    assert image.code == 200 and image.headers["Content-Type"] == "image/png"
    assert image.headers["Content-Disposition"].startswith("inline;")
    assert image.body.startswith(b"\x89PNG")


@pytest.mark.parametrize("path", ["../../state.sqlite", "notes/../../x", "//etc/passwd"])
async def test_no_file_outside_the_run_folder(api: Any, tmp_path: Path, path: str) -> None:
    run = await _finished_run(api, tmp_path)
    code, _, body = await api("GET", f"eflows/api/executions/{run}/files/{path}")
    assert code in (400, 404), body
    if code == 400:
        assert body["fields"] == {"path": "outside the run"}
    code, _, body = await api("GET", f"eflows/api/executions/{run}/preview",
                              params={"path": path})
    assert code == 400 and "leaves the run folder" in body["message"], body


async def test_missing_file_and_unknown_run(api: Any, tmp_path: Path) -> None:
    run = await _finished_run(api, tmp_path)
    code, _, body = await api("GET", f"eflows/api/executions/{run}/files/nope.txt")
    assert code == 404 and "nope.txt" in body["message"]
    code, _, _ = await api("GET", "eflows/api/executions/nope/files")
    assert code == 404
    code, _, body = await api("GET", f"eflows/api/executions/{run}/preview")
    assert code == 400 and body["fields"] == {"path": "required"}


async def test_archive_then_delete(api: Any, tmp_path: Path, jp_serverapp: Any) -> None:
    first = await _finished_run(api, tmp_path)
    second = await _finished_run(api, tmp_path, "writer-2")
    code, _, body = await api("POST", f"eflows/api/executions/{first}/archive")
    assert code == 201 and body["execution"]["id"] == first
    with tarfile.open(body["archive"]) as tar:
        assert f"{first}/table.csv" in tar.getnames()
    code, _, _ = await api("GET", f"eflows/api/executions/{first}")
    assert code == 404
    code, _, _ = await api("DELETE", f"eflows/api/executions/{second}/record")
    assert code == 204
    code, _, listing = await api("GET", "eflows/api/executions")
    assert listing["total"] == 0
    runs = Path(jp_serverapp.web_app.settings["eflows"].runs_dir)
    assert not (runs / first).exists() and not (runs / second).exists()
    code, _, _ = await api("DELETE", f"eflows/api/executions/{second}/record")
    assert code == 404


async def test_an_unfinished_run_is_not_removed(api: Any, tmp_path: Path) -> None:
    code, _, wf = await api("POST", "eflows/api/workflows", hello_spec(
        tmp_path, "sleeper", "import time\ntime.sleep(120)"))
    code, _, execution = await api("POST", f"eflows/api/workflows/{wf['id']}/executions",
                                   {"inputs": {}})
    run = execution["id"]
    for method, route in (("DELETE", "record"), ("POST", "archive")):
        code, _, body = await api(method, f"eflows/api/executions/{run}/{route}")
        assert code == 409 and "cancel it first" in body["message"], body
    code, _, body = await api("POST", f"eflows/api/executions/{run}/resume", {})
    assert code == 409 and "still running" in body["message"], body
    await api("DELETE", f"eflows/api/executions/{run}")  # cancel


async def test_resume_needs_a_checkpoint(api: Any, tmp_path: Path) -> None:
    run = await _finished_run(api, tmp_path)
    code, _, body = await api("GET", f"eflows/api/executions/{run}/checkpoint")
    assert code == 200 and body == {"execution_id": run, "tasks": 0, "resumable": False}
    code, _, body = await api("POST", f"eflows/api/executions/{run}/resume", {})
    assert code == 409 and "no checkpoint to resume from" in body["message"], body
    code, _, body = await api("POST", f"eflows/api/executions/{run}/resume",
                              {"password": 3})
    assert code == 400, body
    for method, route in (("GET", "checkpoint"), ("POST", "resume")):
        code, _, _ = await api(method, f"eflows/api/executions/nope/{route}",
                               *([{}] if method == "POST" else []))
        assert code == 404


async def test_a_local_run_has_no_site_folder(api: Any, tmp_path: Path) -> None:
    run = await _finished_run(api, tmp_path)
    code, _, body = await api("GET", f"eflows/api/executions/{run}/site-files")
    assert code == 400 and "ran on this host" in body["message"], body
    code, _, body = await api("GET", f"eflows/api/executions/{run}/site-files/x.txt")
    assert code == 400, body
