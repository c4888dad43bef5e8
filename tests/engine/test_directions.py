"""Parameter directions and return values: what PyCOMPSs promises about data flow.

Every test runs real tasks on the shared 2-worker Dask cluster through the
``engine`` fixture. Task functions live at module level so workers can import them.
"""

from __future__ import annotations

from eflows_kernel.engine import TaskOutput
from eflows_kernel.model import (
    compss_barrier,
    compss_wait_on,
    task,
)
from eflows_kernel.model.parameter import (
    COLLECTION_IN,
    COLLECTION_INOUT,
    FILE_OUT,
    IN,
    IN_DELETE,
    INOUT,
    OUT,
    Depth,
    Type,
)
from tests.conftest import states_of, task_events

# -- task functions ------------------------------------------------------------------


@task(returns=int)
def add(a, b):
    return a + b


@task(returns=1)
def square(x):
    return x * x


@task(returns=2)
def divmod_task(a, b):
    return a // b, a % b


@task(returns=(int, str))
def number_and_name(n):
    return n, f"n={n}"


@task(path=FILE_OUT)
def write_text(path, text):
    with open(path, "w") as handle:
        handle.write(text)


@task(target=INOUT)
def append_marker(target):
    target.append("ran")


@task(returns=1)
def echo_call(a, b=2, *rest, c, d=4, **extra):
    return {"a": a, "b": b, "rest": rest, "c": c, "d": d, "extra": extra}


@task(returns=1, items=IN)
def mutate_in(items):
    items.append(99)
    items[0] = "changed"
    return len(items)


@task(returns=1)
def mutate_and_count(items):
    items.append("extra")
    return len(items)


@task(returns=1)
def make_list(n):
    return list(range(n))


@task(returns=1)
def length(items):
    return len(items)


@task(returns=1, items=INOUT)
def append_and_return(items, value):
    items.append(value)
    return "returned"


@task(counter=INOUT)
def increment(counter):
    counter[0] += 1


@task(acc=INOUT)
def add_into(values, *, acc):
    acc.extend(values)


@task(returns=1)
def read_counter(counter):
    return counter[0]


@task(result=OUT)
def fill(result, n):
    result.clear()
    result.extend(range(n))


@task(returns=1, data=IN_DELETE)
def consume(data):
    return sum(data)


class Point:
    """A user-defined class passed as INOUT: its attributes are updated by a task."""

    def __init__(self, x, y):
        self.x = x
        self.y = y


@task(point=INOUT)
def move(point, dx, dy):
    point.x += dx
    point.y += dy
    point.moved = True


@task(returns=1, values=COLLECTION_IN)
def total(values):
    return sum(values)


@task(returns=1, rows={Type: COLLECTION_IN, Depth: 2})
def nested_total(rows):
    return [sum(row) for row in rows]


@task(blocks=COLLECTION_INOUT)
def double_blocks(blocks):
    for block in blocks:
        for i, value in enumerate(block):
            block[i] = value * 2


@task(returns=1)
def total_plain(values):
    return sum(values)


@task(value=INOUT)
def bump_int(value):
    return value + 1


# -- returns -------------------------------------------------------------------------


def test_returns_type_gives_one_future(engine):
    """returns=int: the call returns one future that resolves to the task's result."""
    out = add(2, 3)
    assert isinstance(out, TaskOutput)
    assert compss_wait_on(out) == 5


def test_returns_one(engine):
    """returns=1: one future; its value is the return value itself (not a tuple)."""
    out = square(7)
    assert isinstance(out, TaskOutput)
    assert compss_wait_on(out) == 49


def test_returns_two_unpacks(engine):
    """returns=2: the call returns two futures, one per returned value, in order."""
    quotient, remainder = divmod_task(17, 5)
    assert isinstance(quotient, TaskOutput) and isinstance(remainder, TaskOutput)
    assert compss_wait_on(quotient) == 3
    assert compss_wait_on(remainder) == 2


def test_returns_tuple_of_types_counts_values(engine):
    """returns=(int, str) declares two values, each its own future (a list, as PyCOMPSs)."""
    outputs = number_and_name(4)
    assert isinstance(outputs, list) and len(outputs) == 2
    number, name = outputs
    assert compss_wait_on(number) == 4
    assert compss_wait_on(name) == "n=4"


def test_no_returns_gives_none_but_task_runs_file(engine, tmp_path):
    """returns omitted: the call returns None, yet the task runs (its FILE_OUT exists)."""
    path = tmp_path / "side_effect.txt"
    assert write_text(str(path), "written") is None
    compss_barrier()
    assert path.read_text() == "written"
    assert states_of(engine, 1)[-1] == "done"


def test_no_returns_with_inout_gives_none(engine):
    """returns omitted with an INOUT: still None returned; the update arrives on sync."""
    box = []
    assert append_marker(box) is None
    compss_wait_on(box)
    assert box == ["ran"]
    assert states_of(engine, 1)[-1] == "done"


# -- how arguments reach the function --------------------------------------------------


def test_positional_keyword_defaults_varargs_kwargs_keyword_only(engine):
    """Every kind of Python parameter reaches the task function with the caller's value."""
    full = echo_call(1, 20, 5, 6, c=30, d=40, e=50, f="x")
    minimal = echo_call(a=1, c=3)
    assert compss_wait_on(full) == {
        "a": 1, "b": 20, "rest": (5, 6), "c": 30, "d": 40, "extra": {"e": 50, "f": "x"}}
    assert compss_wait_on(minimal) == {
        "a": 1, "b": 2, "rest": (), "c": 3, "d": 4, "extra": {}}


def test_varargs_and_kwargs_accept_futures(engine):
    """Futures passed through *args and **kwargs are resolved to their values."""
    result = echo_call(add(0, 1), 2, square(3), c=add(1, 2), extra_value=square(4))
    assert compss_wait_on(result) == {
        "a": 1, "b": 2, "rest": (9,), "c": 3, "d": 4, "extra": {"extra_value": 16}}


# -- IN ------------------------------------------------------------------------------


def test_in_parameter_changes_stay_in_the_task(engine):
    """IN: the task mutating its argument does not change the caller's object."""
    items = [1, 2, 3]
    count = mutate_in(items)
    assert compss_wait_on(count) == 4  # the task did see and mutate its copy
    assert items == [1, 2, 3]


def test_in_argument_is_snapshot_at_call_time(engine):
    """IN: the task sees the object as it was at the call, not later caller changes."""
    items = [1, 2, 3]
    n = length(items)
    items.extend([4, 5, 6, 7])
    assert compss_wait_on(n) == 3


def test_in_mutation_of_task_output_does_not_leak_to_other_readers(engine):
    """IN on a task output: one reader mutating its value must not affect other readers.

    Each IN reader must see the producer's value; a mutation made by one reader
    (which PyCOMPSs discards) must not be visible to a later reader or to the main
    program's compss_wait_on.
    """
    produced = make_list(3)
    counts = [mutate_and_count(produced) for _ in range(4)]
    assert compss_wait_on(counts) == [4, 4, 4, 4]
    assert compss_wait_on(produced) == [0, 1, 2]


# -- INOUT ---------------------------------------------------------------------------


def test_inout_updates_callers_same_object(engine):
    """INOUT: after compss_wait_on the caller's SAME list holds the task's update."""
    items = [1, 2]
    returned = append_and_return(items, 3)
    synced = compss_wait_on(items)
    assert synced is items
    assert items == [1, 2, 3]
    assert compss_wait_on(returned) == "returned"


def test_inout_chain_of_ten(engine):
    """Ten INOUT increments on one object run in program order and all count."""
    counter = [0]
    for _ in range(10):
        increment(counter)
    assert compss_wait_on(counter) is counter
    assert counter == [10]


def test_inout_by_keyword(engine):
    """INOUT works for arguments passed by keyword (here a keyword-only parameter)."""
    acc = ["a"]
    add_into(["b"], acc=acc)
    add_into(values=["c", "d"], acc=acc)
    assert compss_wait_on(acc) is acc
    assert acc == ["a", "b", "c", "d"]
    counter = [0]
    increment(counter=counter)  # a positional-or-keyword INOUT passed by keyword
    increment(counter)
    assert compss_wait_on(counter) == [2]


def test_reader_between_writers_sees_its_version(engine):
    """An IN reader between INOUT writers sees the value at its point in the program."""
    counter = [0]
    for _ in range(5):
        increment(counter)  # tasks 1..5
    middle = read_counter(counter)  # task 6
    for _ in range(5):
        increment(counter)  # tasks 7..11
    assert compss_wait_on(middle) == 5
    assert compss_wait_on(counter) == [10]
    first = task_events(engine, 6)[0]
    assert 5 in first["deps"]
    # The next writer depends on the version written by task 5 as well.
    assert 5 in task_events(engine, 7)[0]["deps"]


def test_inout_user_class_attributes_updated(engine):
    """INOUT on a user-defined object: its attributes are updated in the caller's object."""
    point = Point(1, 2)
    move(point, 10, 20)
    move(point, 1, 1)
    synced = compss_wait_on(point)
    assert synced is point
    assert (point.x, point.y) == (12, 23)
    assert point.moved is True


def test_inout_on_an_int_runs_and_keeps_the_value(engine):
    """INOUT on an immutable int: PyCOMPSs runs the task (its own test programs pass
    tuples and complex numbers INOUT); the task cannot change the caller's number."""
    value = 5
    bumped = bump_int(value)  # no returns=: "return value + 1" says one value
    assert compss_wait_on(bumped) == 6
    assert compss_wait_on(value) == 5


# -- OUT and IN_DELETE -----------------------------------------------------------------


def test_out_parameter_filled_by_task(engine):
    """OUT: the task fills the caller's object; compss_wait_on brings the content back."""
    result = ["stale"]
    fill(result, 4)
    assert compss_wait_on(result) is result
    assert result == [0, 1, 2, 3]


def test_out_after_inout_writes_new_version(engine):
    """OUT after INOUT on the same object: the last writer's value wins."""
    counter = [0]
    increment(counter)
    fill(counter, 2)
    assert compss_wait_on(counter) == [0, 1]


def test_in_delete_passes_value(engine):
    """IN_DELETE: the task receives the value like IN."""
    data = [1, 2, 3, 4]
    assert compss_wait_on(consume(data)) == 10


def test_in_delete_of_task_output(engine):
    """IN_DELETE on a future: the task receives the producer's value."""
    assert compss_wait_on(consume(make_list(5))) == 10


# -- collections ---------------------------------------------------------------------


def test_collection_in_sums_futures(engine):
    """COLLECTION_IN: a list of futures from several tasks arrives as their values."""
    parts = [square(i) for i in range(5)]
    result = total(parts)
    assert compss_wait_on(result) == 0 + 1 + 4 + 9 + 16
    assert set(task_events(engine, 6)[0]["deps"]) == {1, 2, 3, 4, 5}


def test_collection_in_depth_two(engine):
    """COLLECTION_IN with Depth 2: futures nested one list deeper are resolved too."""
    rows = [[square(1), square(2)], [add(1, 1), 5], [square(3)]]
    assert compss_wait_on(nested_total(rows)) == [5, 7, 9]


def test_collection_inout_updates_elements(engine):
    """COLLECTION_INOUT: each element is updated in place in the caller's objects."""
    first, second = [1, 2], [3]
    blocks = [first, second]
    double_blocks(blocks)
    later = total_plain(first)  # a later IN reader of one element sees the update
    synced = compss_wait_on(blocks)
    assert synced[0] is first and synced[1] is second
    assert first == [2, 4]
    assert second == [6]
    assert compss_wait_on(later) == 6
    assert 1 in task_events(engine, 2)[0]["deps"]


def test_collection_inout_twice(engine):
    """Two COLLECTION_INOUT tasks on the same collection apply in program order."""
    blocks = [[1], [2, 3]]
    double_blocks(blocks)
    double_blocks(blocks)
    compss_wait_on(blocks)
    assert blocks == [[4], [8, 12]]


def test_plain_list_of_futures_is_resolved(engine):
    """A plain list (not declared a collection) holding futures reaches the task resolved."""
    values = [square(2), 1, square(3)]
    assert compss_wait_on(total_plain(values)) == 14


# -- compss_wait_on --------------------------------------------------------------------


def test_wait_on_nested_structures(engine):
    """compss_wait_on resolves futures nested in dicts, lists and tuples."""
    nested = {"squares": [square(2), square(3)], "sum": [add(1, 1)], "plain": [7]}
    assert compss_wait_on(nested) == {"squares": [4, 9], "sum": [2], "plain": [7]}
    pair = (square(5), "text")
    assert compss_wait_on(pair) == (25, "text")


def test_wait_on_several_arguments(engine):
    """compss_wait_on(a, b) returns a list of the two values, in order."""
    a, b = square(2), add(3, 4)
    assert compss_wait_on(a, b) == [4, 7]


def test_wait_on_plain_values_unchanged(engine):
    """Values that are not futures come back unchanged."""
    data = {"k": [1, 2]}
    assert compss_wait_on(3) == 3
    assert compss_wait_on("s") == "s"
    assert compss_wait_on(data) == {"k": [1, 2]}
    assert compss_wait_on(None) is None


def test_one_output_two_consumers(engine):
    """One task output feeds two independent consumer tasks; both see its value."""
    base = square(3)
    plus = add(base, 1)
    times = square(base)
    assert compss_wait_on(plus, times) == [10, 81]
    assert task_events(engine, 2)[0]["deps"] == [1]
    assert task_events(engine, 3)[0]["deps"] == [1]
