"""``pycompss.functions.reduce``: reductions shaped as trees of task calls.

As in PyCOMPSs, ``merge_reduce`` writes partial results into ``data`` itself (the
caller's list), pairing the first two items, appending the pair's result to a queue,
until one is left.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any


def merge_reduce(function: Callable[..., Any], data: list) -> Any:
    """Reduce ``data`` with ``function`` as an inverted binary tree."""
    queue = deque(range(len(data)))
    while len(queue):
        x_value = queue.popleft()
        if len(queue):
            y_value = queue.popleft()
            data[x_value] = function(data[x_value], data[y_value])
            queue.append(x_value)
        else:
            return data[x_value]
    return None


def merge_n_reduce(function: Callable[..., Any], arity: int, data: list) -> Any:
    """Reduce ``data`` with ``function`` as an inverted ``arity``-ary tree."""
    while len(data) > 1:
        data_chunk = data[:arity]
        data = data[arity:]
        data.append(function(*data_chunk))
    return data[0]


def simple_reduce(function: Callable[..., Any], data: list) -> Any:
    """Reduce ``data`` from left to right (one call after the other)."""
    import functools

    return functools.reduce(function, data)


# -- the names of PyCOMPSs 1.x/2.x, still in older applications ------------------------
def mergeReduce(function: Callable[..., Any], data: list) -> Any:
    """``merge_reduce`` as PyCOMPSs 2.x had it: on a copy, the caller's list unchanged."""
    return merge_reduce(function, list(data))


def mergeNReduce(function: Callable[..., Any], data: list) -> list:
    """Groups of as many items as ``function`` takes; returns the list left over."""
    queue = deque(range(len(data)))
    import inspect

    arity = len(inspect.signature(function).parameters)
    data = list(data)
    while len(queue) >= arity:
        indexes = [queue.popleft() for _ in range(arity)]
        data[indexes[0]] = function(*[data[i] for i in indexes])
        queue.append(indexes[0])
    return [data[i] for i in queue]


simpleReduce = simple_reduce
