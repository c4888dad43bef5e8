"""A finished run's files (real local runs): listed, previewed (text, CSV, image); the run
archived or deleted (confirmed) from its detail; edited inputs deployed again."""

from __future__ import annotations

from pathlib import Path

from eflows_kernel.client import LocalClient
from eflows_kernel.ui.executions import ExecutionDetail, ExecutionsWidget
from eflows_kernel.ui.portal import TITLES, Portal
from eflows_kernel.ui.run_files import outputs_html, step_files_html
from tests.server.specs import two_site_graph
from tests.ui.conftest import eventually

WRITER = '''import pathlib, sys
pathlib.Path("table.csv").write_text("x,y\\n1,2\\n")
pathlib.Path("plot.png").write_bytes(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(8))
print("n =", sys.argv[1] if len(sys.argv) > 1 else "none")
'''


def _writer(client: LocalClient, tmp_path: Path) -> str:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    wf = client.workflows.register_spec({
        "name": "writer", "inputs": [{"name": "n", "type": "integer", "default": 1}],
        "steps": [{"name": "main", "application": str(script), "arguments": ["${n}"]}]})
    return str(wf.id)


def _done(client: LocalClient, workflow_id: str, n: int = 1) -> str:
    execution = client.executions.trigger(workflow_id, {"n": n})
    assert client.executions.wait(execution.id, 120).state.value == "done"
    return str(execution.id)


def test_files_listed_and_previewed(client: LocalClient, tmp_path: Path) -> None:
    run = _done(client, _writer(client, tmp_path))
    detail = ExecutionDetail(client, run, start=False, graph=False)
    try:
        eventually(lambda: detail.poll())
        view = detail.files
        assert view.loaded and "table.csv" in view.files.value and "plot.png" in view.files.value
        assert str(client.runs_dir / run / "table.csv") in view.files.value  # no server: paths
        assert "<td>x</td><td>y</td>" in view.show("table.csv")
        assert "n = 1" in view.show("output.log")
        assert view.show("plot.png").startswith("<img") and "data:image/png;base64," in \
            view.preview.value
        assert {"output.log", "plot.png", "table.csv"} <= {v for _l, v in view.picker.options}
    finally:
        detail.close()


def test_outputs_as_links_through_a_server() -> None:
    html = outputs_html({"counts": {"in_folder": "outputs/counts/c.json", "url": "/x/c.json",
                                    "lab_url": "/lab/tree/runs/c.json"},
                         "big": {"cluster_path": "/scratch/big.h5"}}, finished=True)
    assert "href='/lab/tree/runs/c.json'" in html and "href='/x/c.json' download" in html
    assert "kept on the site: <code>/scratch/big.h5</code>" in html
    assert "no declared outputs" in outputs_html({}, finished=True)


def test_archive_and_delete_from_the_detail(client: LocalClient, tmp_path: Path) -> None:
    wf = _writer(client, tmp_path)
    first, second = _done(client, wf), _done(client, wf, 2)
    widget = ExecutionsWidget(client, start=False, detail_poll_interval=0.05)
    try:
        detail = widget.select(first)
        eventually(lambda: detail.execution is not None and detail.execution.finished)
        assert detail.remove.layout.display is None  # offered: the run has finished
        path = detail.remove.archive()
        assert path is not None and Path(path).is_file()
        assert widget.detail is None and widget.table.ids == [second]
        assert "Removed" in widget.message.text
        detail = widget.select(second)
        eventually(lambda: detail.execution is not None and detail.execution.finished)
        detail.remove.delete_button.click()
        assert "Delete this run?" in detail.message.text
        assert client.executions.list().total == 1  # asked, not done yet
        detail.remove.confirm_button.click()
        assert client.executions.list().total == 0 and widget.table.ids == []
    finally:
        widget.close()


def test_no_removal_offered_while_running(client: LocalClient, spin_app: Path) -> None:
    wf = client.workflows.register_python_file(str(spin_app))
    execution = client.executions.trigger(wf.id)
    detail = ExecutionDetail(client, execution.id, start=False, graph=False)
    try:
        assert detail.remove.layout.display == "none"
        assert not detail.remove.delete() and "cancel it first" in detail.message.text
    finally:
        detail.close()
        client.executions.cancel(execution.id)
        client.executions.wait(execution.id, 60)


def test_edit_inputs_and_run_again(client: LocalClient, tmp_path: Path) -> None:
    wf = _writer(client, tmp_path)
    run = _done(client, wf, 3)
    portal = Portal(client, poll_interval=0.05)
    try:
        portal.show("Executions")
        detail = portal.executions.select(run)
        eventually(lambda: detail.execution is not None)
        assert detail.edit_button.layout.display is None
        detail.edit_button.click()
        assert portal.tabs.selected_index == TITLES.index("Deploy")
        assert portal.deploy.workflow.id == wf and portal.deploy.fields["n"].value == "3"
        assert "change them and deploy again" in portal.deploy.message.text
        portal.deploy.fields["n"].value = "7"
        again = portal.deploy.submit()
        assert again is not None and again.inputs == {"n": 7} and again.id != run
        final = client.executions.wait(again.id, 120)
        assert final.state.value == "done"
        assert "n = 7" in client.executions.logs(again.id)[0]
    finally:
        portal.close()


def test_the_site_folder_is_offered_for_remote_runs_only(client: LocalClient,
                                                          tmp_path: Path) -> None:
    run = _done(client, _writer(client, tmp_path))
    detail = ExecutionDetail(client, run, start=False, graph=False)
    try:
        assert detail.files.site_button.layout.display == "none"  # a local run
        detail.files.offer_site("cluster")
        assert detail.files.site_button.layout.display is None
        assert detail.files.load_site() is None and "ran on this host" in \
            detail.files.message.text
    finally:
        detail.close()


def test_a_graphs_site_folders_are_shown_by_step_each_on_its_site(
        client: LocalClient, tmp_path: Path) -> None:
    ids = two_site_graph(client.services, tmp_path)
    detail = ExecutionDetail(client, ids["parent"], start=False, graph=False)
    try:
        eventually(lambda: detail.poll() or detail.execution is not None)
        assert detail.files.site_button.layout.display is None  # its steps ran on sites
        folders = detail.files.load_site()
        assert folders is not None and [f["step"] for f in folders] == [
            "make", "keep", "here", "lost", "later"]
        shown = detail.files.site_files.value
        assert "On the sites, by step" in shown
        assert "<b>Step make</b> on front" in shown and "made.txt" in shown
        assert "<b>Step keep</b> on back" in shown and "kept.txt" in shown
        assert "<b>Step here</b> on this host" in shown and "output.log" in shown
        assert "data-status='site_gone'" in shown and "no longer configured" in shown
        assert "data-status='not_started'" in shown and "has not started" in shown
        assert detail.files.message.text == ""  # no step's trouble fails the listing
    finally:
        detail.close()


def test_one_remote_run_is_shown_as_before() -> None:
    html = step_files_html([{"step": None, "site": "cluster", "status": "listed",
                             "where": "site", "items": [
                                 {"path": "job.sh", "bytes": 10, "kind": "text"}]}])
    assert html.startswith("<b>On the site</b><table") and "job.sh" in html
    assert "cleaned up" in step_files_html([{
        "step": None, "site": "cluster", "status": "no_folder", "where": "site", "items": [],
        "message": "no run folder on 'cluster' (not made yet, or cleaned up)"}])
