"""The tasks a DDS runs: map a partition, split it into buckets, reduce, save."""

from __future__ import annotations

import os
import pickle
from typing import Any

from eflows_kernel.compat.pycompss.dds.loaders import PartitionLoader
from eflows_kernel.model.parameter import COLLECTION_IN, COLLECTION_OUT, INOUT
from eflows_kernel.model.task import task

MARKER = "COMPSS_DEFAULT_VALUE_TO_BE_USED_AS_A_MARKER"
FILE_NAME_LENGTH = 5


def _elements(partition: Any) -> Any:
    if isinstance(partition, PartitionLoader):
        return partition.retrieve_data()
    return partition if partition is not None else []


def _mapped(func: Any, elements: Any) -> Any:
    """The function's result as it is (a list, a dict of counts...); generators listed."""
    if func is None:
        return list(elements)
    result = func(elements)
    return result if isinstance(result, list | dict | tuple | set) else list(result)


@task(returns=1)
def map_partition(func: Any, partition: Any) -> Any:
    return _mapped(func, _elements(partition))


@task(returns=1, collection=COLLECTION_IN)
def map_collection(func: Any, collection: list) -> Any:
    """A partition made of several parts (the buckets of a repartition), joined."""
    return _mapped(func, [item for part in collection for item in part])


def _distribute(buckets: list, func: Any, partitioner: Any, elements: Any) -> None:
    count = len(buckets)
    for key, value in (func(elements) if func is not None else elements):
        buckets[partitioner(key) % count].append((key, value))


@task(buckets=COLLECTION_OUT)
def distribute_partition(buckets: list, func: Any, partitioner: Any, partition: Any) -> None:
    """Put each (key, value) of the partition in bucket ``partitioner(key) % len``."""
    _distribute(buckets, func, partitioner, _elements(partition))


@task(buckets=COLLECTION_OUT, collection=COLLECTION_IN)
def distribute_collection(buckets: list, func: Any, partitioner: Any,
                          collection: list) -> None:
    _distribute(buckets, func, partitioner, [item for part in collection for item in part])


@task(first=INOUT, rest=COLLECTION_IN)
def reduce_dicts(first: dict, rest: list) -> None:
    for counts in rest:
        for key, value in counts.items():
            first[key] += value


@task(returns=list)
def dict_to_list(counts: dict, total_parts: int, partition_num: int) -> list:
    keys = sorted(counts)
    size = max(1, len(keys) // total_parts)
    start = size * partition_num
    chosen = keys[start:] if partition_num == total_parts - 1 else keys[start:start + size]
    return [(key, counts[key]) for key in chosen]


@task(returns=1, parts=COLLECTION_IN)
def reduce_multiple(function: Any, parts: list) -> Any:
    values = [part[0] for part in parts if part]
    if not values:
        return None
    result = values[0]
    for value in values[1:]:
        result = function(result, value)
    return [result]


@task(returns=list)
def collect_samples(partition: list, num_of_samples: int, key_func: Any) -> list:
    step = max(len(partition) // num_of_samples, 1)
    return [key_func(partition[i][0]) for i in range(0, len(partition), step)]


def _target(path: str, index: int) -> str:
    return os.path.join(path, str(index).zfill(FILE_NAME_LENGTH))


@task()
def map_and_save_text_file(func: Any, index: int, path: str, partition: Any) -> None:
    with open(_target(path, index), "w") as handle:
        for item in _mapped(func, _elements(partition)):  # one after the other, as PyCOMPSs
            handle.write(str(item))


@task()
def map_and_save_pickle(func: Any, index: int, path: str, partition: Any) -> None:
    with open(_target(path, index), "wb") as handle:
        pickle.dump(_mapped(func, _elements(partition)), handle)
