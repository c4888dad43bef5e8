"""PyCOMPSs applications written as users write them, run through the real runner.

Each application of tests/apps/model prints one RESULT line; the expected values
are what PyCOMPSs gives for the same program (see tests/apps/model/README.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import APPS

# What the model applications compute: shared workers (test_decorators sets CU, so its
# runner starts its own: the workers must see the variable).
pytestmark = [pytest.mark.slow, pytest.mark.shared_workers]

MODEL_APPS = APPS / "model"
RunApp = Callable[..., subprocess.CompletedProcess]


def run_model_app(run_app: RunApp, app: str, tmp_path: Path, *args: str) -> dict[str, Any]:
    proc = run_app(str(MODEL_APPS / app), *args,
                   extra=("--event-log", str(tmp_path / "events.jsonl")), timeout=240)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and len(lines) == 1, \
        f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return json.loads(lines[0][len("RESULT "):])


def task_names(tmp_path: Path) -> list[str]:
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    return [e["name"] for e in events if e["type"] == "task" and e.get("name")]


def test_returns_in_every_form(run_app: RunApp, tmp_path: Path) -> None:
    result = run_model_app(run_app, "returns_app.py", tmp_path)
    assert result == {
        "add": 5,  # no returns=: the return statement says one value
        "split": ["list", 2, [4, 5]],  # "return a, b": two futures, in a list
        "annotated": [5, 6, 7],  # "-> (int, int, int)"
        "nothing": None,
        "pairs": ["left", "right"],  # returns="PAIRS", a global
        "value_of_n": [0, 1, 2],
        "same_object": True,  # returns="{{box}}" hands back the parameter itself
        "stamped": ["stamped"],
        "call_returns": [7, 8],  # echo(..., returns=2)
        "area": 16,
        "square": [4, [2, 1]],  # self INOUT by default
        "corners": [4, [[0, 0], [1, 1], [2, 2], [3, 3]]],  # value_of(self.side)
        "made_is_square": True,  # returns=Square gives a Square() to call tasks on
        "made": [5, [2]],
        "unit": "Square:m",  # classmethod task
        "perimeter": 20,  # staticmethod task
    }


def test_directions_and_types(run_app: RunApp, tmp_path: Path) -> None:
    result = run_model_app(run_app, "directions_app.py", tmp_path, str(tmp_path / "work"))
    assert result == {
        "files": "p0!p1!p2!",  # COLLECTION_FILE_OUT then _INOUT then _IN
        "keys_and_sum": [["a", "b"], 6],  # DICTIONARY_INOUT of numbers, then _IN
        "nested": {"x": {"y": 6}, "z": 8},  # Depth 2
        "numbers": [-1, -2, -3],  # COLLECTION_INOUT of immutable numbers
        "long_form": "long form",
        "commutative": {"total": 6},
        "concurrent_lines": 4,  # FILE_CONCURRENT writers, then a reader after all
        "report": "2",  # FILE_OUT given None: the task runs, writes nothing
        "varargs": [1, [113]],
        "args_inout": [[0, 1], [0, 0, 2]],  # direction of *args given by its name
    }


def test_groups_and_exceptions_leave_the_file_as_pycompss(run_app: RunApp, tmp_path: Path) -> None:
    result = run_model_app(run_app, "groups_app.py", tmp_path, str(tmp_path / "work"))
    assert result["ledger"] == "xabyczde"
    assert result["caught"] == ["stopped after x", "stopped after y", "2 is over 1",
                                "stopped after z"]
    assert result["alive"] == 2
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text()
              .splitlines()]
    final = events[-1]
    assert final["type"] == "run" and final["state"] == "done"
    # 2+2 cancelled by exceptions, 1 chained return, 1 in the inner group, 2 by cancel
    assert final["counts"]["cancelled"] == 8


def test_unittest_suite_with_task_methods(run_app: RunApp, tmp_path: Path) -> None:
    assert run_model_app(run_app, "unittest_app.py", tmp_path) == {"run": 3, "failures": 0,
                                                                   "errors": 0}


def test_decorators(run_app: RunApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CU", "1")
    result = run_model_app(run_app, "decorators_app.py", tmp_path)
    assert result == {
        "env": "env", "dynamic": "one:1",
        "implement": ["small", 6],  # no worker has 64 cores: the alternative runs
        "local_mean": 3.5, "local_synced": [0, 1, 4, 9],
        "reduction": 55, "replicated": True, "hints": 15, "nested": 202,
    }
    names = task_names(tmp_path)
    assert names.count("merge") == 7  # 10 values, chunks of 3: 4 + 2 + 1 tasks
    assert names.count("warm_up") == 2  # is_replicated: once on each of 2 workers
    assert "inner" not in names  # ran inside outer, as PyCOMPSs without nesting


def test_constraint_from_a_missing_environment_variable_is_a_clear_error(
        tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CU"}
    cmd = [str(Path(sys.executable).parent / "eflows-run"), "--workers", "1",
           str(MODEL_APPS / "decorators_app.py")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env=env)
    assert proc.returncode == 1
    assert "computing_units='${CU}'" in proc.stderr
    assert "CU, which is not set" in proc.stderr


def test_file_api_on_lists(run_app: RunApp, tmp_path: Path) -> None:
    result = run_model_app(run_app, "files_app.py", tmp_path, str(tmp_path / "work"))
    assert result == {
        "waited": True, "single": "one.txt",
        "exists": [True, [True, True]],  # the tuple keeps its place (JSON shows a list)
        "exists_many": [True, False],
        "two": "2", "directory": "folder", "listing": ["0.txt", "1.txt", "2.txt"],
        "deleted": [True, [True]],
        "after_delete": [False, False, True],
    }
