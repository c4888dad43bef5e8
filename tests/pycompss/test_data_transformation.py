"""@data_transformation / @dt and dto: each transformation is a task before the task."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.pycompss.conftest import app_path, assert_exit, read_events, result_of

# What the application computes, not its workers' lifetime: shared workers.
pytestmark = pytest.mark.shared_workers


@pytest.mark.slow
def test_data_transformation_app(run_app: Callable[..., subprocess.CompletedProcess],
                                 tmp_path: Path) -> None:
    (tmp_path / "infile").write_text("hello dt")
    (tmp_path / "infile_2").write_text("a b c")
    proc = run_app(app_path("data_transformation_app", "data_transformation_app.py"),
                   extra=("--event-log", "run.jsonl"))
    assert_exit(proc)
    assert result_of(proc) == {
        "basic": [0, "from_dt", "from_task"],
        "dto": [[0, "from_dt", "from_task"], ["b", "from_dt", "from_task"]],
        # Outermost decorator first: A gets the plain transformation then the workflow,
        # B the workflow then the plain one.
        "stacked": [[0, 1, 2, "dt_no_workflow", "from_bb", "from_aa", "task itself"],
                    [3, 4, 5, "from_bb", "from_aa", "dt_no_workflow", "task itself"]],
        "placeholder": 60,  # factor="{{factor}}" took the task's argument
        "file_to_object": "hello dt",
        "object_to_file": "a_string serialized",
        "file_to_collection": " 3abc",
        "collection_to_object": "1 2 3",
        "collection_to_file": "123 serialized",
    }
    assert (tmp_path / "dt_file_out").read_text() == "123 serialized"
    names = [e["name"] for e in read_events(tmp_path / "run.jsonl")
             if e["type"] == "task" and "name" in e]
    # Each transformation that is not a workflow ran as a task of its own.
    for private_task in ("transform", "file_to_object", "object_to_file", "file_to_col",
                         "col_to_obj", "col_to_file"):
        assert private_task in names, (private_task, names)
    assert json.dumps(names).count('"bb"') == 2  # the workflow's own tasks, for A and B


def test_wrong_parameter_name(pycompss_shim: None) -> None:
    from pycompss.api.data_transformation import dt
    from pycompss.api.task import task

    from eflows_kernel.model.data_transformation import DataTransformationError

    @dt("missing", lambda x: x)
    @task(returns=1)
    def identity(value):
        return value

    with pytest.raises(DataTransformationError, match="Wrong Param missing"):
        identity(1)


def test_without_an_engine_transformations_are_plain_calls(pycompss_shim: None) -> None:
    from pycompss.api.data_transformation import dt, dto
    from pycompss.api.task import task

    @dt("values", lambda v, extra: [*v, extra], extra="dt")
    @task(returns=1)
    def tail(values):
        return values[-1]

    @dt()
    @task(returns=1)
    def head(values):
        return values[0]

    assert tail([1]) == "dt"
    assert head([1, 2], dt=dto("values", lambda v: list(reversed(v)))) == 2
