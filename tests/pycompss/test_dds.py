"""pycompss.dds: the results of PyCOMPSs' own DDS examples, a word count, the loaders."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.pycompss.conftest import app_path, assert_exit, result_of

# What the application computes, not its workers' lifetime: shared workers.
pytestmark = pytest.mark.shared_workers


@pytest.mark.slow
def test_dds_app(run_app: Callable[..., subprocess.CompletedProcess], tmp_path: Path) -> None:
    proc = run_app(app_path("dds_app", "dds_app.py"), str(tmp_path / "work"))
    assert_exit(proc)
    result = result_of(proc)
    # The outputs PyCOMPSs documents for each method (its doctests), as JSON.
    assert result["examples"] == {
        "as_dict": {"a": 1, "b": 1},
        "collect": [[[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]], list(range(10))],
        "count_by_key": {"a": 2},
        "count_by_value": [[0, 1], [1, 1], [2, 2], [3, 1], [4, 1]],
        "distinct": 10,
        "filter": 5,
        "flat_map": [1, 1, 1, 2, 2, 3],
        "flatten_by_key": [["a", 1], ["a", 2], ["b", 1]],
        "group_by_key": [["a", [1, 2]], ["b", [2, 4]]],
        "join": [["a", [1, 2]], ["b", [3, 4]]],
        "key_by": [["0", 0], ["1", 1], ["2", 2]],
        "keys_values": [["a", "b"], [1, 2]],
        "map": [0, 2, 4, 6, 8, 10, 12, 14, 16, 18],
        "map_partitions": [[1], [5], [9], [13], [17]],
        "map_values": [["a", 2], ["b", 2]],
        "partition_by": [[[0, 0], [3, 3]], [[1, 1], [4, 4]], [[2, 2], [5, 5]]],
        "partitions": 5,
        "reduce": 145,
        "reduce_by_key": [["a", 3]],
        "sort_by_key": [1, 2, 3, 5, 7, 8, 9],
        "sum": 3,
        "take": [0, 1, 2, 3, 4, 5],
        "union_count": 10,
    }
    assert result["word_count"] == {
        "counts": {"COMPSs": 5, "Holala": 5, "Ipsum": 5, "Lorem": 5, "World": 5,
                   "extra": 10, "test": 5},
        "same": True,  # count_by_value and reduce_by_key (string keys over processes) agree
    }
    assert result["loaders"] == {
        "text": ["First Line! ", "Second Line! "],
        "chunks": ["Hello ", "world!"],
        "worker_chunks": ["Hello ", "world!"],
        "pickles": [[0, 10, 20], [30, 40, 50]],
    }


def test_string_keys_hash_the_same_in_every_process() -> None:
    import subprocess as sp
    import sys

    from eflows_kernel.compat.pycompss.dds.dds import default_hash

    code = ("from eflows_kernel.compat.pycompss.dds.dds import default_hash;"
            "print(default_hash('Lorem'), default_hash(('a', 1)))")
    other = sp.run([sys.executable, "-c", code], capture_output=True, text=True,
                   env={"PYTHONHASHSEED": "123"}, check=True).stdout.split()
    assert other == [str(default_hash("Lorem")), str(default_hash(("a", 1)))]
    assert default_hash(7) == 7  # numbers keep Python's hash, as PyCOMPSs' examples expect
