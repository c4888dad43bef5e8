"""A real Jupyter server killed during a remote run; the next one re-attaches and finishes it.

Both servers are real ``jupyter server`` processes with the extension, sharing one state
database and runs folder, as a restart at a centre would. The first is killed with
SIGKILL (no clean shutdown), so its owner locks are released by the system alone.
"""

from __future__ import annotations

import json
import time

from tests.deploy.servers import Server
from tests.deploy.stack import seqs_are_gap_free, sleep_spec
from tests.plugins.cluster import SshdInfo


def test_killed_server_restarts_and_the_run_completes_visibly(
        servers: tuple[Server, Server], clean_account: SshdInfo, slurm_cluster: str) -> None:
    first, second = servers
    client = first.start()
    client.sites.add({"name": "cluster", "host": clean_account.host,
                      "port": clean_account.port, "login": clean_account.login,
                      "scheduler": "slurm", "python": {"path": "/usr/bin/python3"}})
    client.sites.trust("cluster", client.sites.scan("cluster").fingerprint)
    credential = client.credentials.generate("restart").id
    client.sites.authorize("cluster", credential, password=clean_account.password)
    workflow = client.workflows.register_spec(sleep_spec())
    execution = client.executions.trigger(workflow.id, {"n": 2, "seconds": 10.0},
                                          site="cluster", credential_id=credential)
    deadline = time.monotonic() + 180
    while client.executions.get(execution.id).state.value != "running":
        assert time.monotonic() < deadline, client.executions.get(execution.id)
        time.sleep(0.2)
    first.kill()  # no goodbye: its locks and connections just vanish

    client = second.start()
    events = list(client.executions.follow(execution.id))  # live, to the end
    done = client.executions.wait(execution.id, timeout=180)
    assert done.state.value == "done", done.error
    assert [e["state"] for e in events if e["type"] == "run"][-1] == "done"
    all_events = client.executions.events(execution.id)
    seqs_are_gap_free(all_events)
    remote_log = clean_account.home / "eflows" / "runs" / execution.id / "events.jsonl"
    remote = [json.loads(line) for line in remote_log.read_text().splitlines()]
    by_seq = {e["seq"]: e for e in all_events}
    assert [by_seq.get(e["seq"]) for e in remote] == remote  # nothing lost or renumbered
