"""What the kernel sends the browser: typed-array columns, deltas over snapshots."""

from __future__ import annotations

import math
from array import array
from typing import Any

from eflows_kernel.widgets.graph_model import RunGraphModel
from eflows_kernel.widgets.graph_wire import (
    FAILURES_PUSHED,
    STATE_CODES,
    WireEncoder,
    pack,
    task_details,
)
from tests.widgets.test_graph_model import Stream

CODES = {"int32": "i", "float32": "f", "uint8": "B"}


def columns(meta: dict[str, Any], data: bytes) -> dict[str, list[Any]]:
    """Decode a message's buffer as the browser does (typed-array views at offsets)."""
    out = {}
    for name, (dtype, offset, length) in meta["columns"].items():
        values = array(CODES[dtype])
        values.frombytes(data[offset:offset + length * values.itemsize])
        out[name] = list(values)
    return out


def test_columns_are_aligned_for_typed_array_views():
    layout, data = pack({"a": ("B", [1, 2, 3]), "b": ("f", [1.5]), "c": ("i", [-7, 8])})
    assert {name: spec[1] % 8 for name, spec in layout.items()} == {"a": 0, "b": 0, "c": 0}
    assert columns({"columns": layout}, data) == {"a": [1, 2, 3], "b": [1.5], "c": [-7, 8]}


def test_a_delta_carries_new_and_changed_tasks_attempts_and_new_edges():
    ev, model = Stream(), RunGraphModel()
    encoder = WireEncoder(model)
    model.apply(ev.submit(1, "load"))
    model.apply(ev.submit(2, "merge", [1]))
    meta, data = encoder.delta()
    cols = columns(meta, data)
    assert meta["kind"] == "delta" and (meta["base"], meta["seq"]) == (0, 1)
    assert cols["task_index"] == [0, 1] and cols["task_id"] == [1, 2]
    assert cols["task_layer"] == [0, 1]
    assert cols["edge_source"] == [0] and cols["edge_target"] == [1]
    assert [f["name"] for f in meta["functions"]] == ["load", "merge"]
    assert meta["header"]["status"] == "running" and meta["header"]["total"] == 2

    model.apply(ev.run(1, worker_name="n/0", started=200.0))
    model.apply(ev.end(1, started=200.0, ended=201.5))
    meta, data = encoder.delta()
    cols = columns(meta, data)
    assert meta["base"] == 1 and cols["task_index"] == [0]  # only what changed
    assert cols["task_state"] == [STATE_CODES["done"]]
    assert cols["edge_source"] == []  # edges come once, with their task
    assert cols["attempt_index"] == [0] and cols["attempt_worker"] == [0]
    origin = meta["origin"]
    assert math.isclose(cols["attempt_ended"][0] + origin, 201.5, abs_tol=1e-3)
    assert meta["workers"] == ["n/0"]
    assert encoder.delta() is None  # nothing new, nothing sent


def test_a_snapshot_holds_everything():
    ev, model = Stream(), RunGraphModel()
    encoder = WireEncoder(model)
    for task in range(1, 6):
        model.apply(ev.submit(task, "t", [task - 1] if task > 1 else None))
    encoder.delta()
    meta, data = encoder.snapshot()
    cols = columns(meta, data)
    assert meta["kind"] == "snapshot" and meta["seq"] == 1
    assert cols["task_index"] == [0, 1, 2, 3, 4]
    assert list(zip(cols["edge_source"], cols["edge_target"], strict=True)) == [
        (0, 1), (1, 2), (2, 3), (3, 4)]


def test_failed_tasks_bring_their_error_and_output_unasked_up_to_a_limit():
    ev, model = Stream(), RunGraphModel()
    encoder = WireEncoder(model)
    for task in range(1, FAILURES_PUSHED + 11):
        model.apply(ev.submit(task, "f"))
        model.apply(ev.end(task, "failed", final=True, on_failure="IGNORE",
                           error=f"ValueError: {task}", stdout=f"out {task}\n"))
    meta, _data = encoder.delta()
    assert len(meta["failures"]) == FAILURES_PUSHED
    assert meta["failures"]["0"] == {"error": "ValueError: 1", "stdout": "out 1\n",
                                     "stderr": None}
    assert meta["errors"]["5"] == "ValueError: 6"  # first lines for every failed task


def test_task_details_have_attempts_output_usage_and_unknown_fields():
    ev, model = Stream(), RunGraphModel()
    model.apply(ev.submit(1, "sim"))
    model.apply(ev.run(1, worker_name="cn1/0"))
    model.apply(ev.end(1, "failed", final=False, error="E1", stderr="warn\n"))
    model.apply(ev.run(1, attempt=2))
    model.apply(ev.end(1, attempt=2, stdout="ok\n", command=["srun", "./sim", "a b"],
                       exit_value=0, hosts=["cn1", "cn2"], container={"engine": "docker"},
                       usage={"cpu_mean": 50.0, "cpu_max": 80.0, "memory_max": 2e8,
                              "samples": 3.0}))
    details = task_details(model, 1)
    assert [(a["number"], a["state"], a["error"]) for a in details["attempts"]] == [
        (1, "failed", "E1"), (2, "done", None)]
    assert details["attempts"][0]["stderr"] == "warn\n"
    assert details["attempts"][1]["stdout"] == "ok\n"
    assert details["attempts"][1]["usage"]["memory_max"] == 2e8
    assert details["extra"] == {"command": "srun ./sim 'a b'", "exit_value": 0,
                                "hosts": "cn1, cn2", "container": "engine=docker"}
    assert details["function"]["name"] == "sim"
