"""User mistakes get clear messages, naming the task and the parameter at fault.

Mistakes in a ``@task`` decorator are reported when the decorator is applied;
mistakes in a call are reported at the call, before anything reaches a worker.
Without an engine, tasks run as plain function calls (PyCOMPSs' sequential mode).
"""

from __future__ import annotations

import threading

import pytest

from eflows_kernel.engine import current_engine
from eflows_kernel.model import (
    TaskArgumentError,
    TaskDefinitionError,
    compss_wait_on,
    task,
)
from eflows_kernel.model.parameter import INOUT, UnknownDirectionError
from tests.conftest import task_events

# -- task functions ------------------------------------------------------------------


@task(returns=1)
def add_pair(first, second):
    return first + second


@task(returns=1)
def describe(payload):
    return repr(payload)


@task(items=INOUT)
def append_item(items, value):
    items.append(value)


@task(returns=2)
def split_pair(pair):
    return pair[0], pair[1]


# -- wrong calls -----------------------------------------------------------------------


def test_too_many_arguments(engine):
    """Too many positional arguments: TaskArgumentError naming the task, at call time."""
    with pytest.raises(TaskArgumentError) as info:
        add_pair(1, 2, 3)
    message = str(info.value)
    assert "add_pair" in message
    assert "too many" in message
    assert task_events(engine) == []


def test_missing_argument(engine):
    """A missing argument: TaskArgumentError naming the task and the missing parameter."""
    with pytest.raises(TaskArgumentError) as info:
        add_pair(1)
    message = str(info.value)
    assert "add_pair" in message
    assert "'second'" in message
    assert task_events(engine) == []


def test_unexpected_keyword_argument(engine):
    """An unknown keyword: TaskArgumentError naming the task and the keyword."""
    with pytest.raises(TaskArgumentError) as info:
        add_pair(1, 2, third=3)
    message = str(info.value)
    assert "add_pair" in message
    assert "third" in message


def test_unserialisable_argument(engine):
    """An argument that cannot be pickled is refused at call time, naming task and param."""
    with pytest.raises(TaskArgumentError) as info:
        describe(threading.Lock())
    message = str(info.value)
    assert "describe" in message
    assert "'payload'" in message
    assert "serialis" in message
    assert task_events(engine) == []


def test_future_hidden_in_dict_is_resolved(engine):
    """A future inside a dict or a nested list reaches the task as its value."""
    assert compss_wait_on(describe({"value": add_pair(1, 2)})) == \
        describe.func({"value": 3})
    assert compss_wait_on(describe([[add_pair(1, 1)], 2])) == describe.func([[2], 2])


def test_future_inside_an_object_is_refused(engine):
    """A future inside another object cannot travel: the message says what to do."""
    class Holder:
        def __init__(self, value):
            self.value = value

    with pytest.raises(TaskArgumentError) as info:
        describe(Holder(add_pair(1, 2)))
    message = str(info.value)
    assert "describe" in message
    assert "'payload'" in message
    assert "compss_wait_on" in message


def test_failed_call_does_not_break_later_calls(engine):
    """After a refused call, the engine keeps working for correct calls."""
    with pytest.raises(TaskArgumentError):
        describe(threading.Lock())
    assert compss_wait_on(add_pair(2, 3)) == 5


# -- wrong decorators ------------------------------------------------------------------


def test_unknown_direction():
    """An unknown direction: UnknownDirectionError naming task and parameter, listing valid ones."""
    with pytest.raises(UnknownDirectionError) as info:

        @task(x="SIDEWAYS")
        def sideways(x):
            return x

    message = str(info.value)
    assert "sideways" in message
    assert "'x'" in message
    assert "SIDEWAYS" in message
    for valid in ("IN", "INOUT", "OUT", "FILE_IN", "COLLECTION_IN"):
        assert valid in message.split("use one of", 1)[1]


def test_direction_for_missing_parameter():
    """A direction for a parameter the function lacks: ignored as PyCOMPSs ignores it
    (its 2_cancel_running_tasks relies on it), with a warning naming it."""
    with pytest.warns(UserWarning, match="ignored, as PyCOMPSs does") as info:

        @task(returns=1, colour=INOUT)
        def paint(shape):
            return shape

    message = str(info[0].message)
    assert "paint" in message
    assert "'colour'" in message
    assert "shape" in message  # lists the parameters the function does have


def test_unknown_on_failure():
    """on_failure must be one of the PyCOMPSs policies."""
    with pytest.raises(TaskDefinitionError) as info:

        @task(on_failure="SOMETIMES")
        def flaky():
            return None

    message = str(info.value)
    assert "flaky" in message
    assert "SOMETIMES" in message
    assert "IGNORE" in message


def test_negative_returns():
    """returns=-1 is refused."""
    with pytest.raises(TaskDefinitionError) as info:

        @task(returns=-1)
        def negative():
            return None

    assert "negative" in str(info.value)
    assert "-1" in str(info.value)


# -- no engine: sequential fallback ----------------------------------------------------


def test_without_engine_tasks_run_directly():
    """Without an engine a task call is a plain call returning the plain value."""
    assert current_engine() is None
    assert add_pair(2, 3) == 5
    assert split_pair((7, "x")) == (7, "x")
    items = [1]
    assert append_item(items, 2) is None
    assert items == [1, 2]  # INOUT: the caller's object itself was updated


def test_without_engine_wait_on_returns_arguments():
    """Without an engine compss_wait_on gives its argument back (a list for several)."""
    assert current_engine() is None
    data = {"k": [1, 2]}
    assert compss_wait_on(data) is data
    assert compss_wait_on(1, "two") == [1, "two"]


def test_without_engine_argument_errors_are_python_errors():
    """Without an engine a wrong call fails as the plain function call would."""
    assert current_engine() is None
    with pytest.raises(TypeError):
        add_pair(1)
