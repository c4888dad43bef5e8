"""The run files of every step of a step graph over REST (a real Jupyter server): grouped
by step and site with download links, one step's folder by ``?step=``, each file from its
own step's folder; a step never started or on a site that is gone says so; the routes
without ``step`` answer as before (``test_run_files_api.py``).

The graph's records are written into the server's store as a finished graph on two
sites would have left them; the sites are this host (``connection: local``) with a work
directory each, so the folders are read through the site code without sshd (on the
real sshd and Slurm: ``tests/deploy/test_step_files.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from eflows_kernel.services.workflows import Workflow
from tests.server.specs import STEP_GRAPH as STEPS
from tests.server.specs import local_site, two_site_graph


@pytest.fixture
def graph(jp_serverapp: Any, tmp_path: Path) -> dict[str, str]:
    return two_site_graph(jp_serverapp.web_app.settings["eflows"], tmp_path)


async def _get(jp_fetch: Any, url: str) -> tuple[int, str]:
    """GET a URL the API gave (``{base_url}eflows/api/...?step=...``)."""
    parts = urlsplit(url)
    path = [unquote(p) for p in parts.path.strip("/").split("/")]
    params = dict(pair.split("=", 1) for pair in parts.query.split("&")) if parts.query \
        else {}
    response = await jp_fetch(*path[path.index("eflows"):],
                              params={k: unquote(v) for k, v in params.items()},
                              raise_error=False)
    return response.code, response.body.decode()


async def test_every_steps_files_grouped_by_step_and_site_each_downloaded(
        api: Any, jp_fetch: Any, graph: dict[str, str], jp_base_url: str) -> None:
    run = graph["parent"]
    code, _, body = await api("GET", f"eflows/api/executions/{run}/step-files")
    assert code == 200, body
    steps = {s["step"]: s for s in body["steps"]}
    assert list(steps) == list(STEPS)
    assert {n: (s["site"], s["status"], s["where"]) for n, s in steps.items()} == {
        "make": ("front", "listed", "site"), "keep": ("back", "listed", "site"),
        "here": ("local", "listed", "local"), "lost": ("old", "site_gone", "site"),
        "later": ("back", "not_started", "site")}
    assert steps["make"]["execution_id"] == graph["make"] and steps["make"]["state"] == "done"
    assert "no longer configured" in steps["lost"]["message"]
    assert "has not started" in steps["later"]["message"]
    assert steps["later"]["execution_id"] is None and steps["later"]["items"] == []
    assert [f["path"] for f in steps["make"]["items"]] == ["job.sh", "made.txt"]  # no link
    made = steps["make"]["items"][1]
    assert made["url"] == (f"{jp_base_url}eflows/api/executions/{run}/site-files/made.txt"
                           "?step=make")
    assert await _get(jp_fetch, made["url"]) == (200, "made on front\n")
    kept = {f["path"]: f for f in steps["keep"]["items"]}
    assert await _get(jp_fetch, kept["kept.txt"]["url"]) == (200, "kept on back\n")
    assert await _get(jp_fetch, kept["job.sh"]["url"]) == (200, "#!/bin/sh\n# keep\n")
    (log,) = steps["here"]["items"]
    assert log["url"] == f"{jp_base_url}eflows/api/executions/{run}/files/output.log?step=here"
    assert await _get(jp_fetch, log["url"]) == (200, "ran here\n")


async def test_one_steps_folder_by_name(api: Any, graph: dict[str, str]) -> None:
    run = graph["parent"]
    route = f"eflows/api/executions/{run}"
    code, _, body = await api("GET", f"{route}/site-files", params={"step": "keep"})
    assert code == 200 and body["step"] == "keep", body
    assert [f["path"] for f in body["items"]] == ["job.sh", "kept.txt"]
    assert body["items"][1]["url"].endswith(f"/{run}/site-files/kept.txt?step=keep")
    code, _, text = await api("GET", f"{route}/site-files/kept.txt", params={"step": "keep"})
    assert code == 200 and text == "kept on back\n"
    code, _, body = await api("GET", f"{route}/site-files/kept.txt", params={"step": "make"})
    assert code == 404 and "step 'make'" in body["message"], body  # its own folder only
    code, _, body = await api("GET", f"{route}/site-files/link", params={"step": "make"})
    assert code == 400 and "link" in body["message"], body
    code, _, body = await api("GET", f"{route}/site-files")  # a graph: which step?
    assert code == 400 and "make, keep" in body["message"], body
    code, _, body = await api("GET", f"{route}/site-files", params={"step": "nope"})
    assert code == 404 and "no step 'nope'" in body["message"], body
    code, _, body = await api("GET", f"{route}/site-files", params={"step": "later"})
    assert code == 409 and "has not started" in body["message"], body
    code, _, body = await api("GET", f"{route}/site-files", params={"step": "lost"})
    assert code == 409 and "no longer configured" in body["message"], body

    code, _, body = await api("GET", f"{route}/files", params={"step": "here"})
    assert code == 200 and [f["path"] for f in body["items"]] == ["output.log"], body
    assert body["step"] == "here" and body["items"][0]["url"].endswith("?step=here")
    code, _, body = await api("GET", f"{route}/preview",
                              params={"path": "output.log", "step": "here"})
    assert code == 200 and body["text"] == "ran here\n", body
    code, _, text = await api("GET", f"{route}/files/output.log", params={"step": "here"})
    assert code == 200 and text == "ran here\n"
    code, _, body = await api("GET", f"{route}/files/output.log")  # the graph's own folder
    assert code == 404, body


async def test_a_run_of_one_step_lists_as_one_entry(api: Any, jp_serverapp: Any,
                                                    tmp_path: Path) -> None:
    services = jp_serverapp.web_app.settings["eflows"]
    services.site_service.add(local_site("front", tmp_path / "front"))
    workflow = services.registry.register(Workflow(name="one"))
    run = services.execution_store.create(workflow.id, {}, "front", None)
    folder = tmp_path / "front" / "runs" / run.id
    folder.mkdir(parents=True)
    (folder / "job.sh").write_text("#!/bin/sh\n")
    code, _, body = await api("GET", f"eflows/api/executions/{run.id}/site-files")
    assert code == 200 and [f["path"] for f in body["items"]] == ["job.sh"], body
    assert "step" not in body and body["items"][0]["url"].endswith("/site-files/job.sh")
    code, _, body = await api("GET", f"eflows/api/executions/{run.id}/step-files")
    assert code == 200 and [(s["step"], s["site"], s["status"]) for s in body["steps"]] == [
        (None, "front", "listed")], body
    code, _, body = await api("GET", f"eflows/api/executions/{run.id}/site-files",
                              params={"step": "main"})
    assert code == 400 and "runs no step graph" in body["message"], body
    code, _, _ = await api("GET", "eflows/api/executions/nope/step-files")
    assert code == 404
