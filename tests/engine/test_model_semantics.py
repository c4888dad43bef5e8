"""Unit tests of the PyCOMPSs semantics added for real applications (issue #12)."""

from __future__ import annotations

import pickle
import sys
import unittest

import cloudpickle
import pytest

from eflows_kernel.engine import portable
from eflows_kernel.engine.data import FileVersions, ObjectVersions, TaskOutput
from eflows_kernel.model import TaskArgumentError, compss_wait_on, task
from eflows_kernel.model.parameter import (
    COLLECTION_FILE_INOUT,
    DICTIONARY_IN,
    FILE_IN_STDOUT,
    FILE_OUT,
    INOUT,
    STDERR,
    UNLIMITED_DEPTH,
    DataType,
    Depth,
    Direction,
    IOStream,
    Prefix,
    StdIOStream,
    Type,
    parse_param_spec,
)
from eflows_kernel.model.returns import infer_returns, parse_returns


def _spec(value):
    return parse_param_spec(value, task_name="t", param="p")


def test_every_alias_and_the_long_form():
    assert _spec(FILE_IN_STDOUT).stream is IOStream.STDOUT
    assert _spec("COLLECTION_FILE_INOUT") is COLLECTION_FILE_INOUT
    assert COLLECTION_FILE_INOUT.file_collection and COLLECTION_FILE_INOUT.writes
    assert _spec(DICTIONARY_IN).type is DataType.DICT_COLLECTION
    long_form = _spec({Type: FILE_OUT, StdIOStream: STDERR, Prefix: "-o"})
    assert (long_form.type, long_form.direction) == (DataType.FILE, Direction.OUT)
    assert long_form.stream is IOStream.STDERR and long_form.prefix == "-o"
    assert _spec({Type: DICTIONARY_IN, Depth: 2}).depth == 2
    assert _spec(DICTIONARY_IN).depth == UNLIMITED_DEPTH  # PyCOMPSs follows all levels
    assert _spec({"Direction": INOUT}).direction is Direction.INOUT
    assert not _spec("CONCURRENT").writes  # a CONCURRENT object is not written back


def test_returns_are_inferred_as_pycompss_does():
    def one(x):
        return x

    def two(x):
        if x:
            return x, 1
        return 0, 0

    def annotated(x) -> (int, str):
        return x, "x"

    def none(x):
        print(x)

    assert infer_returns(one, "one").count == 1
    assert infer_returns(two, "two").count == 2
    assert infer_returns(annotated, "annotated").count == 2
    assert infer_returns(none, "none").count == 0
    spec = parse_returns("value_of(self.n)", "m", one)
    holder = type("Holder", (), {"n": 3})()
    assert spec.resolve("m", one, {"self": holder}).count == 3


def test_returns_from_a_future_is_refused():
    spec = parse_returns("value_of(n)", "f", lambda n: n)
    with pytest.raises(TaskArgumentError, match="synchronise it first"):
        spec.resolve("f", lambda n: n, {"n": TaskOutput(1, "f", None, ())})


def test_versions_of_cancelled_writers_roll_back():
    dropped: set[int] = set()
    files = FileVersions(dropped.__contains__, lambda t: False)
    assert files.access("/f", 1, True, True) == []
    assert files.access("/f", 2, True, True) == [1]
    dropped.add(2)  # task 2 was cancelled: its version never exists
    assert files.access("/f", 3, True, True) == [1]
    objects = ObjectVersions(dropped.__contains__, lambda t: False)
    value = [1]
    objects.written(value, TaskOutput(1, "a", None, ()))
    objects.written(value, TaskOutput(2, "b", None, ()))
    assert objects.current(value).task_id == 1


def test_open_streams_travel_by_reference(tmp_path):
    portable.install()
    log = open(tmp_path / "log.txt", "w")  # noqa: SIM115 - the stream is the subject
    log.write("first\n")
    log.flush()
    case = unittest.TestCase()
    case.stream = sys.__stderr__  # (pytest replaces sys.stderr by its capture)
    case.log = log
    copy = cloudpickle.loads(cloudpickle.dumps(case))
    assert copy.stream is sys.stderr
    copy.log.write("second\n")  # reopened for appending, never truncated
    copy.log.close()
    log.close()
    assert (tmp_path / "log.txt").read_text() == "first\nsecond\n"
    with open(tmp_path / "log.txt") as reader:
        assert pickle.loads(pickle.dumps(reader)).read() == "first\nsecond\n"


@task(returns=1)
def _count(n):
    return n


def test_call_time_returns_and_batched_submission(engine):
    outputs = [_count(i) for i in range(600)]  # more than one batch
    assert compss_wait_on(outputs) == list(range(600))
    pair = _count((1, 2), returns=2)
    assert isinstance(pair, list) and compss_wait_on(pair) == [1, 2]
