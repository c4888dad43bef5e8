"""A workflow with the eFlows4HPC DLS movements, run on the real site (sshd + Slurm).

Its data comes from a WebDAV share and a B2SHARE record, its results go to S3, to the
WebDAV share (synced every second while the job runs) and to a new B2SHARE record: all
through this server, with the logins from the vault, against real servers on loopback.
"""

from __future__ import annotations

import json
import shutil
import time

from eflows_kernel.events import validate_event
from eflows_kernel.services.credentials.service_credentials import ServiceCredentials
from tests.deploy.stack import APPS, Stack, serving_data_logistics
from tests.plugins.data_services import B2ShareServer, S3Endpoint, WebDavShare


def spec() -> dict:
    return {
        "name": "dls-movements",
        "inputs": [{"name": "regions"}, {"name": "record"}, {"name": "share_out"}],
        "steps": [{"name": "count", "application": str(APPS / "data_logistics.py"),
                   "arguments": ["inputs/regions", "inputs/record", "results", "10"]}],
        "data_movements": [
            {"name": "regions_in", "direction": "in", "kind": "webdav",
             "source": "${regions}", "target": "inputs/regions"},
            {"name": "record_in", "direction": "in", "kind": "dls", "source": "${record}",
             "target": "inputs/record"},
            {"name": "to_s3", "direction": "out", "kind": "s3", "source": "results",
             "target": "s3://dls-e2e/run"},
            {"name": "to_share", "direction": "out", "kind": "webdav", "source": "results",
             "target": "${share_out}", "every": "1s"},
            {"name": "to_record", "direction": "out", "kind": "dls", "source": "results",
             "target": "wordcount results"},
        ]}


def test_dls_movements_run_end_to_end(stack: Stack, webdav_share: WebDavShare,
                                      b2share_server: B2ShareServer,
                                      s3_endpoint: S3Endpoint) -> None:
    logins = ServiceCredentials(stack.store, stack.vault)
    logins.add("share", "webdav", webdav_share.url.replace("webdav://", "http://"),
               username=webdav_share.username, secret=webdav_share.password)
    logins.add("b2share", "b2share", b2share_server.url, token=b2share_server.token)
    logins.add("bucket", "s3", "s3://dls-e2e", username=s3_endpoint.access_key,
               secret=s3_endpoint.secret_key,
               options={"endpoint_url": s3_endpoint.endpoint_url})
    s3_endpoint.client().create_bucket(Bucket="dls-e2e")
    regions = webdav_share.root / "e2e-regions"
    (regions / "med").mkdir(parents=True, exist_ok=True)
    (regions / "med" / "a.txt").write_text("one two three\n")
    (regions / "b.txt").write_text("four five\n")
    record = "e2erec1"
    b2share_server.add_record(record, {"data.txt": b"six seven eight nine\n"})

    with serving_data_logistics(stack, logins, None) as transfers:
        workflow = stack.registry.register_spec(spec())
        execution = stack.executor.submit(
            workflow.id, {"regions": f"{webdav_share.url}/e2e-regions", "record": record,
                          "share_out": f"{webdav_share.url}/e2e-out"},
            "cluster", credential_id=stack.credential)
        synced = webdav_share.root / "e2e-out" / "results" / "progress.txt"
        seen: set[str] = set()
        deadline = time.monotonic() + 300
        while not stack.executions.get(execution.id).finished and time.monotonic() < deadline:
            if synced.is_file() and stack.executions.get(execution.id).state.value == "running":
                seen.add(synced.read_text())
            time.sleep(0.1)
        done = stack.wait(execution.id, timeout=60)
    assert done.state.value == "done", done.error
    assert len(seen) >= 2, f"the share saw {seen} while the job ran"  # two syncs at least
    assert transfers.list(execution.id) == []  # the sync ended with the job

    summary = {"files": 3, "words": 9}
    landed = json.loads((webdav_share.root / "e2e-out" / "results" / "summary.json")
                        .read_text())
    assert {k: landed[k] for k in summary} == summary
    body = s3_endpoint.client().get_object(Bucket="dls-e2e", Key="run/results/summary.json")
    assert json.loads(body["Body"].read()) == landed
    (draft,) = [d for d in b2share_server.drafts.values()
                if d["metadata"]["titles"] == [{"title": "wordcount results"}]]
    assert draft["state"] == "submitted"
    assert json.loads(draft["files"]["summary.json"]) == landed
    outputs = done.outputs
    assert outputs["to_record"]["location"].startswith(f"{b2share_server.url}/records/")
    assert {f["name"] for f in outputs["to_s3"]["files"]} >= {"results/summary.json"}

    # Each data-service movement is a step of its own, before or after the job: its own
    # record and state in the graph. The periodic one is synced by the job while it runs
    # and gets its last, complete sync as a step after it.
    steps = {s.name: s for s in stack.executor.steps(execution.id)}
    assert list(steps) == ["count:in:regions_in", "count:in:record_in", "count",
                           "count:out:to_s3", "count:out:to_share", "count:out:to_record"]
    assert all(s.state == "done" and s.execution_id for s in steps.values())
    assert steps["count"].job_id and not steps["count:in:regions_in"].job_id
    assert steps["count:out:to_s3"].depends_on == ("count",)
    assert steps["count:out:to_share"].depends_on == ("count",)
    events = stack.executor.events(execution.id)
    for event in events:
        validate_event(event)
    moved = {e["step"] for e in events if e["type"] == "transfer" and "step" in e}
    assert {"count:in:regions_in", "count:in:record_in", "count:out:to_s3",
            "count:out:to_share"} <= moved
    stages = [(e["stage"], e["state"], e.get("step")) for e in events if e["type"] == "stage"]
    assert ("sync", "running", "count") in stages and ("sync", "done", "count") in stages
    assert ("stage-out", "done", "count:out:to_share") in stages
    # The job's own stage-out did not copy it once more (only the step did, once).
    sent = [e for e in events if e["type"] == "transfer" and e["state"] == "done"
            and e["name"].endswith("/e2e-out/results/summary.json")]
    assert [e["step"] for e in sent] == ["count:out:to_share"]
    assert {f["name"] for f in outputs["to_share"]["files"]} >= {"results/summary.json"}
    fetched = {e["name"] for e in events if e["type"] == "transfer" and e["state"] == "done"}
    assert any(name.endswith("/records/e2erec1") or "data.txt" in name for name in fetched)
    text = json.dumps(events)
    for secret in (webdav_share.password, s3_endpoint.secret_key, b2share_server.token):
        assert secret not in text


PARTIAL_OUT = "dls.ansible.nodes.DLSDAGWebdavStageOutData"  # the files below source_path


def test_a_failed_run_still_gets_the_last_sync_of_its_periodic_stage_out(
        stack: Stack, webdav_share: WebDavShare) -> None:
    """A DLS WebDAV stage-out synced every second: the syncs while the job runs land the
    files below ``results`` in the share's folder, as the final copy does; the job then
    fails, and its final sync still runs (a step with its own events), bringing what it
    wrote last, while a stage-out without ``every`` does not run after a failure."""
    logins = ServiceCredentials(stack.store, stack.vault)
    logins.add("share", "webdav", webdav_share.url.replace("webdav://", "http://"),
               username=webdav_share.username, secret=webdav_share.password)
    target = webdav_share.root / "e2e-partial"
    shutil.rmtree(target, ignore_errors=True)
    with serving_data_logistics(stack, logins, None) as transfers:
        workflow = stack.registry.register_spec({
            "name": "partial", "inputs": [{"name": "share_out"}],
            "steps": [{"name": "work", "application": str(APPS / "failing_partial_results.py"),
                       "arguments": ["results", "10"]}],
            "data_movements": [
                {"name": "to_share", "direction": "out", "kind": "webdav",
                 "source": "results", "target": "${share_out}", "every": "1s",
                 "options": {"tosca_type": PARTIAL_OUT}},
                {"name": "report", "direction": "out", "kind": "webdav",
                 "source": "results", "target": "${share_out}-report"}]})
        execution = stack.executor.submit(workflow.id,
                                          {"share_out": f"{webdav_share.url}/e2e-partial"},
                                          "cluster", credential_id=stack.credential)
        seen: set[str] = set()
        deadline = time.monotonic() + 300
        while not stack.executions.get(execution.id).finished and time.monotonic() < deadline:
            job = {s.name: s for s in stack.executor.steps(execution.id)}.get("work")
            progress = target / "progress.txt"  # in the folder itself, not in results/
            if job is not None and job.state == "running" and progress.is_file():
                seen.add(progress.read_text())
            time.sleep(0.1)
        final = stack.wait(execution.id, 60)
        assert transfers.list(execution.id) == []  # the syncs ended with the job
    assert final.state.value == "failed", final.error
    assert len(seen) >= 2, f"the share saw {seen} while the job ran"
    assert not (target / "results").exists()  # every sync landed the folder's contents
    steps = {s.name: s for s in stack.executor.steps(execution.id)}
    assert {n: s.state for n, s in steps.items()} == {
        "work": "failed", "work:out:to_share": "done", "work:out:report": "cancelled"}
    partial = json.loads((target / "last" / "partial.json").read_text())
    assert partial["complete"] is False and partial["ticks"] > 0
    assert (target / "progress.txt").read_text() == f"tick {partial['ticks']}\n"
    assert not (webdav_share.root / "e2e-partial-report").exists()
    output = final.outputs["to_share"]
    assert {f["name"] for f in output["files"]} == {"progress.txt", "last/partial.json"}
    events = stack.executor.events(execution.id)
    for event in events:
        validate_event(event)
    stages = [(e["stage"], e["state"], e.get("step")) for e in events if e["type"] == "stage"]
    assert ("sync", "running", "work") in stages and ("sync", "done", "work") in stages
    assert ("stage-out", "done", "work:out:to_share") in stages
    assert any(e["type"] == "transfer" and e.get("step") == "work:out:to_share" and
               e["name"].endswith("/e2e-partial/last/partial.json") for e in events)
    assert webdav_share.password not in json.dumps(events)
