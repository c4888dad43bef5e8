"""ExecutionsWidget on real local runs: a live list, the detail's graph/logs, cancel, re-run."""

from __future__ import annotations

from pathlib import Path

from eflows_kernel.client import LocalClient
from eflows_kernel.ui.executions import ExecutionDetail, ExecutionsWidget
from tests.ui.conftest import APPS, INCREMENT_CHAIN, eventually


def _chain(client: LocalClient) -> str:
    wf = client.workflows.register_python_file(str(INCREMENT_CHAIN), inputs=[
        {"name": "length", "type": "integer"}])
    return str(wf.id)


def test_list_updates_live_and_detail_follows_the_run(client: LocalClient) -> None:
    widget = ExecutionsWidget(client, poll_interval=0.1, detail_poll_interval=0.1)
    try:
        assert widget.running and widget.live.value and widget.table.ids == []
        execution = client.executions.trigger(_chain(client), {"length": 3})
        eventually(lambda: widget.table.ids == [execution.id])
        detail = widget.select(execution.id)
        assert isinstance(detail, ExecutionDetail) and detail in widget.detail_box.children
        eventually(lambda: "done" in widget.table.row_text(execution.id))
        name = client.workflows.get(execution.workflow_id).workflow.name
        assert f"done  {name}  local  " in widget.table.row_text(execution.id)
        eventually(lambda: detail.execution.finished and "RESULT" in detail.logs.value)
        assert detail.execution.state.value == "done", detail.execution.error
        assert detail.cancel_button.disabled
        eventually(lambda: detail.graph.model.total == 4 and detail.graph.model.finished == 4)
        assert widget.detail is detail  # the list redraws without closing the detail
    finally:
        widget.close()
    assert not widget.running and not widget.live.value
    assert detail._stop.is_set()


def test_stop_and_start_the_live_list(client: LocalClient) -> None:
    widget = ExecutionsWidget(client, poll_interval=0.05, start=False)
    assert not widget.running
    widget.live.value = True
    assert widget.running
    widget.stop()
    eventually(lambda: not widget.running)
    widget.start()
    assert widget.running and widget.live.value
    widget.close()
    eventually(lambda: not widget.running)


def test_cancel_and_rerun(client: LocalClient, spin_app: Path) -> None:
    wf = client.workflows.register_python_file(str(spin_app))
    execution = client.executions.trigger(wf.id)
    widget = ExecutionsWidget(client, start=False, detail_poll_interval=0.1)
    try:
        detail = widget.select(execution.id)
        assert detail is not None and not detail.cancel_button.disabled
        eventually(lambda: "spinning" in detail.logs.value)
        assert detail.cancel() is not None, detail.message.text
        final = client.executions.wait(execution.id, 60)
        assert final.state.value == "cancelled"
        eventually(lambda: detail.execution.state.value == "cancelled")
        assert detail.cancel() is None and "already" in detail.message.text
        again = detail.rerun()
        assert again is not None and again.id != execution.id
        assert again.workflow_id == wf.id and again.inputs == execution.inputs
        assert widget.table.selected == again.id and widget.detail.execution_id == again.id
        client.executions.cancel(again.id)
        client.executions.wait(again.id, 60)
    finally:
        widget.close()


def test_resume_is_offered_only_for_a_run_that_left_a_checkpoint(client: LocalClient,
                                                                 tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    wf = client.workflows.register_spec({"name": "flaky", "steps": [{
        "name": "squares", "application": str(APPS / "flaky_squares.py"),
        "arguments": [str(ledger)],
        "extra_compss_opts": "--checkpoint=FT --checkpoint_params=finished.tasks:1"}]})
    failed = client.executions.wait(client.executions.trigger(wf.id).id, 120)
    plain = client.executions.wait(client.executions.trigger(_chain(client),
                                                             {"length": 2}).id, 120)
    started: list[str] = []
    detail = ExecutionDetail(client, failed.id, start=False, graph=False,
                             on_rerun=lambda e: started.append(e.id))
    other = ExecutionDetail(client, plain.id, start=False, graph=False)
    try:
        assert detail.resume_button.layout.display is None
        assert detail.resume_button.description == "Resume from checkpoint (4 tasks saved)"
        assert other.resume_button.layout.display == "none"  # nothing to resume from
        resumed = detail.resume()
        assert resumed is not None and started == [resumed.id]
        assert "resuming from the checkpoint" in detail.message.text
        done = client.executions.wait(resumed.id, 120)
        assert done.state.value == "done" and done.resumed_from == failed.id
        assert sorted((ledger / "ran.txt").read_text().split()) == ["0", "1", "2", "3", "4", "5"]
    finally:
        detail.close()
        other.close()


def _two_steps(client: LocalClient) -> str:
    wf = client.workflows.register_spec({"name": "two-steps", "steps": [
        {"name": "first", "application": str(INCREMENT_CHAIN), "arguments": ["2"],
         "environment": "Front"},
        {"name": "second", "application": str(INCREMENT_CHAIN), "arguments": ["3"],
         "environment": "Back", "depends_on": ["first"]}]})
    return str(wf.id)


def test_the_live_graph_of_a_step_graph_shows_its_steps_and_each_steps_tasks(
        client: LocalClient) -> None:
    """A real run of two steps: the detail's graph holds each step with its state and,
    inside each (a PyCOMPSs run of its own), its tasks named ``<step>/<function>``."""
    execution = client.executions.trigger(_two_steps(client), {},
                                          site={"Front": "local", "Back": "local"})
    detail = ExecutionDetail(client, execution.id, poll_interval=0.1)
    try:
        eventually(lambda: detail.execution.finished and detail.graph.model.finished == 7,
                   timeout=120)
        eventually(lambda: detail._thread is not None and not detail._thread.is_alive())
        assert detail.execution.state.value == "done", detail.execution.error
        model = detail.graph.model
        assert list(model.steps.states.items()) == [("first", "done"), ("second", "done")]
        names = sorted(i.name for i in model.tasks.values())
        assert names == ["first/increment"] * 2 + ["first/read"] + \
            ["second/increment"] * 3 + ["second/read"]
        assert model.status() == "done"
    finally:
        detail.close()


def test_rerun_of_a_graph_on_two_sites_binds_each_step_to_its_site_again(
        client: LocalClient) -> None:
    """The record's ``site`` is its first step's: re-run with it, every step of a graph
    on two sites would run on that one."""
    execution = client.executions.trigger(_two_steps(client), {}, site="local")
    client.executions.wait(execution.id, 120)
    detail = ExecutionDetail(client, execution.id, start=False, graph=False)
    asked: list[object] = []
    real = client.executions.trigger

    def trigger(workflow_id: str, inputs: dict, site: object, **rest: object) -> object:
        asked.append(site)
        return real(workflow_id, inputs, site="local", **rest)

    try:
        detail.execution = detail.execution.model_copy(update={"step_sites": {
            "first": "front", "first->back": "back", "second": "back"}})
        client.executions.trigger = trigger  # type: ignore[method-assign]
        assert detail.rerun() is not None, detail.message.text
        assert asked == [{"first": "front", "second": "back"}]
    finally:
        client.executions.trigger = real  # type: ignore[method-assign]
        detail.close()


def test_a_graph_on_two_sites_shows_every_site_in_the_detail_and_the_table(
        client: LocalClient) -> None:
    """A graph's ``site`` is its first step's: the detail's header and the jobs table
    showed that one only for a graph on two sites. A run on one site looks as before."""
    from datetime import datetime, timezone

    from eflows_kernel.ui.jobs_table import table_rows

    execution = client.executions.trigger(_two_steps(client), {}, site="local")
    client.executions.wait(execution.id, 120)
    detail = ExecutionDetail(client, execution.id, start=False, graph=False)
    try:
        assert "</b> on local<br>" in detail.header.value  # one site (local for both steps)
        two = detail.execution.model_copy(update={"step_sites": {
            "first": "front", "first->back": "back", "second": "back"}})
        detail.execution = two
        detail._render()
        assert "</b> on 2 sites: front (first), back (second)<br>" in detail.header.value
    finally:
        detail.close()
    plain = two.model_copy(update={"id": "plain", "step_sites": None, "site": "middle"})
    now = datetime.now(timezone.utc)
    limits = {"front": "01:00:00", "back": "02:00:00", "middle": "01:00:00"}.get
    rows = {r.id: r.cells for r in table_rows([two, plain], lambda _w: "wc", now=now,
                                              limits=limits)}
    assert rows[two.id][2] == "front, back" and rows["plain"][2] == "middle"
    assert rows[two.id][-1] == "01:00:00, 02:00:00"  # each site's own limit
    assert rows["plain"][-1] == "01:00:00"
    # The text filter finds the graph by either site; sorted by site, it sorts as shown.
    for needle, found in (("front", [two.id]), ("back", [two.id]), ("middle", ["plain"])):
        assert [r.id for r in table_rows([two, plain], lambda _w: "wc", text=needle,
                                         now=now)] == found
    assert [r.id for r in table_rows([plain, two], lambda _w: "wc", sort="site",
                                     descending=False, now=now)] == [two.id, "plain"]


def test_unknown_execution_shows_the_error(client: LocalClient) -> None:
    detail = ExecutionDetail(client, "nope", start=False, graph=False)
    assert detail.message.kind == "error" and "nope" in detail.message.text
    assert detail.rerun() is None


def test_jobs_table_sorts_and_filters() -> None:
    from datetime import datetime, timedelta, timezone
    from types import SimpleNamespace

    from eflows_kernel.ui.jobs_table import table_rows

    now = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)

    def run(i: str, state: str, minutes: int, site: str, finished: bool) -> SimpleNamespace:
        start = now - timedelta(minutes=minutes)
        return SimpleNamespace(id=i, state=SimpleNamespace(value=state), finished=finished,
                               created_at=start, updated_at=start + timedelta(seconds=30),
                               workflow_id="wf-" + i, site=site, remote_job_id="4" + i,
                               inputs={"walltime": "00:10:00"} if i == "b" else {})

    runs = [run("a", "done", 30, "local", True), run("b", "running", 5, "cluster", False),
            run("c", "failed", 60, "cluster", True)]
    names = {"wf-a": "wordcount", "wf-b": "sleeper", "wf-c": "kmeans"}.get
    rows = table_rows(runs, names, now=now)
    assert [r.id for r in rows] == ["b", "a", "c"]  # newest first
    start = f"{runs[1].created_at:%Y-%m-%d %H:%M:%S}"
    assert rows[0].cells == ("▶ running", "sleeper", "cluster", start, "5 min 0 s", "4b",
                             "00:10:00")
    assert [r.id for r in table_rows(runs, names, sort="workflow", descending=False,
                                     now=now)] == ["c", "b", "a"]
    assert [r.id for r in table_rows(runs, names, state="active", now=now)] == ["b"]
    assert [r.id for r in table_rows(runs, names, state="failed", now=now)] == ["c"]
    assert [r.id for r in table_rows(runs, names, text="CLUS", now=now)] == ["b", "c"]


def test_jobs_table_shows_slurms_pending_reason_and_the_jobs_time_limit() -> None:
    from datetime import datetime, timezone
    from types import SimpleNamespace

    from eflows_kernel.ui.jobs_table import table_rows

    now = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)

    def run(i: str, state: str, queue: dict[str, str] | None,
            finished: bool = False) -> SimpleNamespace:
        return SimpleNamespace(id=i, state=SimpleNamespace(value=state), finished=finished,
                               created_at=now, updated_at=now, workflow_id="w", site="cluster",
                               remote_job_id="9" + i, inputs={"walltime": "05:00"},
                               queue=queue)

    runs = [run("p", "submitted", {"state": "PENDING", "reason": "Resources",
                                   "time_limit": "10:00"}),
            run("r", "running", {"state": "RUNNING", "time_limit": "1-00:00:00"}),
            run("t", "failed", {"state": "TIMEOUT", "time_limit": "10:00"}, finished=True)]
    rows = {r.id: r.cells for r in table_rows(runs, lambda _w: "wc", now=now,
                                              limits={"cluster": "02:00:00"}.get)}
    assert rows["p"][0] == "… submitted (in queue)"
    assert rows["p"][5] == "9p · PENDING: Resources"  # the job id and why it waits
    assert rows["p"][-1] == "10:00"  # Slurm's limit of the job wins over inputs and site
    assert rows["r"][0] == "▶ running" and rows["r"][5] == "9r · RUNNING"
    assert rows["r"][-1] == "1-00:00:00"
    assert rows["t"][0] == "✘ failed" and rows["t"][5] == "9t"  # finished: no queue state
    assert rows["t"][-1] == "10:00"


def test_jobs_table_shows_the_slurm_queue_and_the_sites_walltime(client: LocalClient) -> None:
    from datetime import datetime, timezone
    from types import SimpleNamespace

    from eflows_kernel.ui.jobs_table import table_rows

    now = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    queued = SimpleNamespace(id="q", state=SimpleNamespace(value="submitted"), finished=False,
                             created_at=now, updated_at=now, workflow_id="w", site="cluster",
                             remote_job_id="77", inputs={})
    local = SimpleNamespace(id="l", state=SimpleNamespace(value="submitted"), finished=False,
                            created_at=now, updated_at=now, workflow_id="w", site="local",
                            remote_job_id=None, inputs={})
    limits = {"cluster": "02:00:00"}.get
    rows = {r.id: r.cells for r in table_rows([queued, local], lambda _w: "wc", now=now,
                                              limits=limits)}
    assert rows["q"][0].endswith("submitted (in queue)") and rows["q"][-1] == "02:00:00"
    assert rows["l"][0].endswith("submitted") and rows["l"][-1] == ""
    # The widget asks each site its limit once (a configured site's time_limit).
    client.sites.add({"name": "cluster", "host": "127.0.0.1", "port": 2222, "login": "u",
                      "time_limit": "01:30:00"})
    widget = ExecutionsWidget(client, start=False)
    try:
        assert widget._site_limit("cluster") == "01:30:00"
        assert widget._site_limit("local") is None and widget._site_limit("gone") is None
    finally:
        widget.close()
