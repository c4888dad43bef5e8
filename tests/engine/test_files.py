"""File parameters and the file API: tasks on one path run in program order.

Files are tracked by absolute path: a reader waits for the last writer, a writer
waits for the readers of the previous version, and the file API functions wait for
the tasks that write (or use) a file before touching it.
"""

from __future__ import annotations

import os
import random
import time

import pytest

from eflows_kernel.model import (
    TaskArgumentError,
    compss_barrier,
    compss_delete_file,
    compss_file_exists,
    compss_open,
    compss_wait_on,
    compss_wait_on_file,
    task,
)
from eflows_kernel.model.parameter import FILE_IN, FILE_INOUT, FILE_OUT
from tests.conftest import task_events

# -- task functions ------------------------------------------------------------------


@task(path=FILE_OUT)
def write_file(path, text, delay=0.0):
    time.sleep(delay)
    with open(path, "w") as handle:
        handle.write(text)


@task(returns=1, path=FILE_OUT)
def write_and_report_path(path, text):
    with open(path, "w") as handle:
        handle.write(text)
    return path


@task(returns=1, path=FILE_IN)
def read_file(path, delay=0.0):
    time.sleep(delay)
    with open(path) as handle:
        return handle.read()


@task(path=FILE_INOUT)
def append_line(path, line):
    time.sleep(random.uniform(0.0, 0.2))
    with open(path, "a") as handle:
        handle.write(f"{line}\n")


@task(returns=1, path=FILE_IN)
def count_chars(path):
    with open(path) as handle:
        return len(handle.read())


# -- ordering --------------------------------------------------------------------------


def test_file_in_reads_what_file_out_wrote(engine, tmp_path):
    """FILE_OUT then FILE_IN: the reader runs after the writer and sees its content."""
    path = str(tmp_path / "data.txt")
    write_file(path, "hello", delay=0.3)  # task 1
    content = read_file(path)  # task 2
    assert compss_wait_on(content) == "hello"
    assert 1 in task_events(engine, 2)[0]["deps"]


def test_file_inout_appends_in_program_order(engine, tmp_path):
    """FILE_INOUT appenders run one after another, in program order."""
    path = str(tmp_path / "log.txt")
    write_file(path, "start\n")  # task 1
    for i in range(5):
        append_line(path, i)  # tasks 2..6 (each sleeps a random time)
    content = read_file(path)  # task 7
    assert compss_wait_on(content) == "start\n0\n1\n2\n3\n4\n"
    for appender in range(2, 7):
        assert appender - 1 in task_events(engine, appender)[0]["deps"]
    assert 6 in task_events(engine, 7)[0]["deps"]


def test_writer_waits_for_readers_of_previous_version(engine, tmp_path):
    """Write-after-read: a FILE_OUT writer must not overwrite a file a reader still needs."""
    path = str(tmp_path / "versioned.txt")
    write_file(path, "version 1")  # task 1
    old = read_file(path, delay=0.5)  # task 2: reads only after sleeping
    write_file(path, "version 2")  # task 3
    new = read_file(path)  # task 4
    assert compss_wait_on(old) == "version 1"
    assert compss_wait_on(new) == "version 2"
    assert 2 in task_events(engine, 3)[0]["deps"]


def test_two_readers_of_one_version_both_see_it(engine, tmp_path):
    """Two FILE_IN readers of the same version both depend on the writer only."""
    path = str(tmp_path / "shared.txt")
    write_file(path, "shared", delay=0.2)  # task 1
    first, second = read_file(path), read_file(path)  # tasks 2, 3
    assert compss_wait_on(first, second) == ["shared", "shared"]
    assert task_events(engine, 2)[0]["deps"] == [1]
    assert task_events(engine, 3)[0]["deps"] == [1]


# -- the file API ----------------------------------------------------------------------


def test_compss_wait_on_file_waits_for_writer(engine, tmp_path):
    """compss_wait_on_file returns only once the last writer of the file has finished."""
    path = tmp_path / "slow.txt"
    write_file(str(path), "done", delay=0.5)
    compss_wait_on_file(str(path))
    assert path.read_text() == "done"


def test_compss_open_gives_written_content(engine, tmp_path):
    """compss_open waits for the writer and returns an open file with its content."""
    path = str(tmp_path / "opened.txt")
    write_file(path, "first", delay=0.2)
    append_line(path, "second")
    with compss_open(path) as handle:
        assert handle.read() == "firstsecond\n"


def test_compss_file_exists_counts_pending_writer(engine, tmp_path):
    """compss_file_exists is True for a file a pending task will write, False if missing."""
    path = tmp_path / "future.txt"
    write_file(str(path), "soon", delay=0.5)
    assert compss_file_exists(str(path)) is True
    assert path.exists()
    assert compss_file_exists(str(tmp_path / "missing.txt")) is False


def test_compss_delete_file_waits_for_users(engine, tmp_path):
    """compss_delete_file waits for the tasks using the file, deletes it, returns True."""
    path = tmp_path / "scratch.txt"
    write_file(str(path), "scratch")  # task 1
    content = read_file(str(path), delay=0.5)  # task 2: still reading when we delete
    assert compss_delete_file(str(path)) is True
    assert not path.exists()
    assert compss_wait_on(content) == "scratch"
    assert task_events(engine, 2)[-1]["state"] == "done"


def test_compss_delete_file_missing_returns_false(engine, tmp_path):
    """Deleting a file that does not exist (and no task writes) returns False."""
    assert compss_delete_file(str(tmp_path / "never.txt")) is False


def test_relative_paths_are_made_absolute(engine, tmp_path, monkeypatch):
    """Relative paths refer to the caller's working directory, wherever the task runs."""
    monkeypatch.chdir(tmp_path)
    seen = write_and_report_path("relative.txt", "here")
    size = count_chars("relative.txt")
    assert compss_wait_on(seen) == os.path.join(str(tmp_path), "relative.txt")
    assert compss_wait_on(size) == 4
    assert (tmp_path / "relative.txt").read_text() == "here"
    assert compss_file_exists("relative.txt") is True
    with compss_open("relative.txt") as handle:
        assert handle.read() == "here"
    assert 1 in task_events(engine, 2)[0]["deps"]


def test_pathlib_path_accepted(engine, tmp_path):
    """A pathlib.Path works as a file parameter and is tracked like its string form."""
    path = tmp_path / "pathlib.txt"
    write_file(path, "via pathlib")  # task 1
    content = read_file(str(path))  # task 2: same file, given as str
    assert compss_wait_on(content) == "via pathlib"
    assert 1 in task_events(engine, 2)[0]["deps"]


# -- mistakes --------------------------------------------------------------------------


def test_file_in_given_int_is_rejected(engine):
    """A FILE_IN parameter given an int: a clear error naming task and parameter."""
    with pytest.raises(TaskArgumentError) as info:
        read_file(42)
    message = str(info.value)
    assert "read_file" in message
    assert "'path'" in message
    assert "file path" in message
    assert "int" in message
    assert task_events(engine) == []


def test_file_out_alone_runs_before_barrier_returns(engine, tmp_path):
    """A FILE_OUT task with no returns is done when compss_barrier returns."""
    path = tmp_path / "barrier.txt"
    write_file(str(path), "x", delay=0.3)
    compss_barrier()
    assert path.read_text() == "x"
