"""Word count deployed to the real cluster: stage-in, Slurm, live events, stage-out."""

from __future__ import annotations

import json
from pathlib import Path

from eflows_kernel.events import validate_event
from tests.deploy.stack import (
    EXPECTED_COUNTS,
    Stack,
    seqs_are_gap_free,
    wordcount_spec,
)


def test_wordcount_runs_on_slurm_and_comes_back(stack: Stack, text_folder: Path) -> None:
    workflow = stack.registry.register_spec(wordcount_spec())
    execution = stack.executor.submit(workflow.id, {"texts": str(text_folder)}, "cluster",
                                      credential_id=stack.credential)
    done = stack.wait(execution.id, timeout=600)
    assert done.state.value == "done", done.error
    states = [c.state.value for c in done.state_history]
    assert states[:1] == ["queued"] and states[-1] == "done"
    for expected in ("staging-in", "submitted", "running", "staging-out"):
        assert expected in states, states
    assert done.remote_job_id and done.remote_job_id.isdigit()

    output = done.outputs["counts"]
    counts = json.loads(Path(output["path"]).read_text())
    assert counts == EXPECTED_COUNTS
    assert len(output["sha256"]) == 64

    events = stack.executor.events(execution.id)
    for event in events:
        validate_event(event)
    seqs_are_gap_free(events)
    stages = [(e["stage"], e["state"]) for e in events if e["type"] == "stage"]
    order = [s for s, state in stages if state == "done"]
    assert order[:4] == ["connect", "environment", "stage-in", "submit"], stages
    assert order[-1] == "stage-out"
    tasks = {e["task"] for e in events if e["type"] == "task"}
    assert len(tasks) >= 4  # two count_words, one merge, one write_result
    runs = [e["state"] for e in events if e["type"] == "run"]
    assert runs[-1] == "done"
    transfers_in = [e for e in events if e["type"] == "transfer" and e["direction"] == "in"
                    and e["state"] == "done"]
    assert {e["name"] for e in transfers_in} >= {"texts"} or transfers_in
    assert any(e["type"] == "transfer" and e["direction"] == "out" and e["state"] == "done"
               for e in events)

    text, offset = stack.executor.logs(execution.id)
    assert "RESULT" in text and offset == len(text.encode())
