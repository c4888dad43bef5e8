"""pycompss.functions, Future, pycompss.util helpers, as an application uses them."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.pycompss.conftest import app_path, assert_exit, result_of


@pytest.mark.slow
def test_functions_app(run_app: Callable[..., subprocess.CompletedProcess],
                       tmp_path: Path) -> None:
    proc = run_app(app_path("functions_app", "functions_app.py"))
    assert_exit(proc)
    assert result_of(proc) == {
        "chunks": [[0, 1, 2], [3, 4, 5], [6]],
        "context": [True, False],  # in a task: in the worker, not in the master
        "generator": [3, 2, True],
        "merge_n_reduce": 36,
        "merge_reduce": 21,
        "resources": [1, 0],  # compss_request_resources added a worker, free removed it
        "serializer": {"a": [1, 2]},
        "timeit": [81, 3, True],
    }


def test_future_is_the_class_of_task_outputs(pycompss_shim: None) -> None:
    import abc

    from pycompss.runtime.management.classes import EmptyReturn, Future

    from eflows_kernel.engine.data import TaskOutput

    output = TaskOutput(1, "t", None, ())
    assert isinstance(output, Future) and issubclass(TaskOutput, Future)
    assert not isinstance(3, Future) and not isinstance(EmptyReturn(), Future)

    class AppFuture(metaclass=abc.ABCMeta):  # noqa: B024 - what applications do with it
        pass

    AppFuture.register(Future)
    assert issubclass(Future, AppFuture)


def test_merge_reduce_without_an_engine(pycompss_shim: None) -> None:
    from pycompss.functions.reduce import merge_n_reduce, merge_reduce

    data = [1, 2, 3, 4, 5]
    assert merge_reduce(lambda a, b: a + b, data) == 15
    assert data == [3, 2, 15, 4, 8]  # partial results land in the caller's list
    assert merge_n_reduce(lambda *xs: sum(xs), 2, list(range(5))) == 10


def test_profile_says_what_it_needs(pycompss_shim: None) -> None:
    import importlib.util

    if importlib.util.find_spec("memory_profiler") is None:  # PyCOMPSs needs it too
        with pytest.raises(ImportError, match="pip install memory_profiler"):
            import pycompss.functions.profile  # noqa: F401
    else:  # pragma: no cover - not installed in this project's environment
        from pycompss.functions.profile import profile

        assert profile()(lambda: 1)() == 1


def test_the_names_of_older_releases(pycompss_shim: None) -> None:
    from pycompss.functions.elapsedTime import timeit
    from pycompss.functions.reduce import mergeNReduce, mergeReduce, simple_reduce

    data = [1, 2, 3, 4, 5]
    assert mergeReduce(lambda a, b: a + b, data) == 15
    assert data == [1, 2, 3, 4, 5]  # 2.x reduced a copy
    assert mergeNReduce(lambda a, b, c: a + b + c, list(range(7))) == [21]
    assert simple_reduce(lambda a, b: a * b, [1, 2, 3, 4]) == 24
    assert timeit()(lambda: 5)()[0] == 5
