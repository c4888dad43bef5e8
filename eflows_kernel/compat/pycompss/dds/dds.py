"""``pycompss.dds.DDS``: PyCOMPSs' Distributed Data Set, on this engine's tasks.

A DDS is a list of partitions (data, loaders, or outputs of earlier tasks) plus the
function still to apply to each; transformations (``map``, ``filter``...) compose
that function, and actions (``collect``, ``reduce``, ``count``...) run one task per
partition. Same API and results as PyCOMPSs', with three differences: string keys are
partitioned with a hash that is the same in every process (Python's ``hash`` of a
string differs between worker processes), a DDS keeps its mapped partitions after
``collect`` (PyCOMPSs forgets its function, so a second ``collect`` returns the
unmapped data), and ``foreach`` runs its function (PyCOMPSs only builds the mapping).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import os
import zlib
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from typing import Any

from eflows_kernel.compat.pycompss.dds import tasks
from eflows_kernel.compat.pycompss.dds.loaders import (
    DataLoader,
    FilesLoader,
    PartitionLoader,
    PickleLoader,
    SliceLoader,
    read_in_chunks,
    read_lines,
)
from eflows_kernel.compat.pycompss.dds.tasks import MARKER
from eflows_kernel.model.api import compss_barrier, compss_wait_on


def default_hash(obj: Any) -> int:
    """``hash`` for numbers, a hash stable across processes for text and tuples."""
    if isinstance(obj, str):
        return zlib.crc32(obj.encode("utf-8"))
    if isinstance(obj, bytes):
        return zlib.crc32(obj)
    if isinstance(obj, tuple):
        value = 0x345678
        for item in obj:
            value = (value * 1000003) ^ default_hash(item)
        return value & 0x7FFFFFFFFFFFFFFF
    if obj is None:
        return 0
    return hash(obj)


def _sizes(total: int, parts: int) -> list[int]:
    """``parts`` sizes adding up to ``total``, the first ones one larger (as PyCOMPSs)."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _compose(first: Callable | None, then: Callable) -> Callable:
    if first is None:
        return then
    return lambda partition: then(first(partition))


class DDS:
    """Distributed Data Set."""

    def __init__(self) -> None:
        self.partitions: list[Any] = []
        self.func: Callable | None = None
        self.paac = False  # partitions are collections (lists of outputs) to join

    # -- loading ------------------------------------------------------------------------
    def load(self, iterator: Any, num_of_parts: int = 10, paac: bool = False) -> DDS:
        self.paac = paac
        if num_of_parts == -1:
            self.partitions = list(iterator)
            return self
        total = len(iterator)
        if not total:
            return self
        start = 0
        for size in _sizes(total, num_of_parts):
            end = start + size
            if isinstance(iterator, list):
                self.partitions.append(DataLoader(iterator[start:end]))
            else:
                self.partitions.append(SliceLoader(iterator, start, end))
            start = end
        return self

    def load_file(self, file_path: str, chunk_size: int = 1024,
                  worker_read: bool = False) -> DDS:
        if worker_read:
            total = os.path.getsize(file_path)
            for start in range(0, total, chunk_size):
                self.partitions.append(FilesLoader([file_path], True, start, chunk_size))
            return self
        with open(file_path) as handle:
            chunk = handle.read(chunk_size)
            while chunk:
                self.partitions.append(DataLoader(chunk))
                chunk = handle.read(chunk_size)
        return self

    def load_text_file(self, file_name: str, chunk_size: int = 1024, in_bytes: bool = True,
                       strip: bool = True) -> DDS:
        reader = read_in_chunks if in_bytes else read_lines
        for partition in reader(file_name, chunk_size, strip=strip):
            self.partitions.append(DataLoader(partition))
        return self

    def load_files_from_dir(self, dir_path: str, num_of_parts: int = -1) -> DDS:
        """One (path, content) element per file, read by the task of its partition."""
        files = sorted(os.listdir(dir_path))
        total = len(files)
        parts = total if num_of_parts < 0 else num_of_parts
        if not parts:
            return self
        start = 0
        for size in _sizes(total, parts):
            chosen = files[start:start + size]
            self.partitions.append(FilesLoader([os.path.join(dir_path, f) for f in chosen]))
            start += size
        return self

    def load_pickle_files(self, dir_path: str) -> DDS:
        for name in sorted(os.listdir(dir_path)):
            self.partitions.append(PickleLoader(os.path.join(dir_path, name)))
        return self

    # -- transformations ------------------------------------------------------------------
    def _child(self, func: Callable) -> DDS:
        child = DDS()
        child.partitions = self.partitions
        child.paac = self.paac
        child.func = _compose(self.func, func)
        return child

    def union(self, *others: DDS) -> DDS:
        current = list(self.collect(future_objects=True))
        for other in others:
            current.extend(other.collect(future_objects=True))
        return DDS().load(current, num_of_parts=-1)

    def num_of_partitions(self) -> int:
        return len(self.partitions)

    def map(self, func: Callable, *args: Any, **kwargs: Any) -> DDS:
        return self._child(lambda partition: [func(x, *args, **kwargs) for x in partition])

    def map_partitions(self, func: Callable) -> DDS:
        return self._child(func)

    def flat_map(self, func: Callable, *args: Any, **kwargs: Any) -> DDS:
        def mapper(partition: Iterable) -> list:
            out: list = []
            for item in partition:
                out.extend(func(item, *args, **kwargs))
            return out

        return self._child(mapper)

    map_and_flatten = flat_map  # the name of older PyCOMPSs releases

    def filter(self, func: Callable) -> DDS:
        return self._child(lambda partition: [x for x in partition if func(x)])

    def key_by(self, func: Callable) -> DDS:
        return self.map(lambda x: (func(x), x))

    def keys(self) -> DDS:
        return self.map(lambda x: x[0])

    def values(self) -> DDS:
        return self.map(lambda x: x[1])

    def map_values(self, func: Callable) -> DDS:
        return self.map(lambda pair: (pair[0], func(pair[1])))

    def flatten_by_key(self, func: Callable) -> DDS:
        return self.flat_map(lambda pair: [(pair[0], v) for v in func(pair[1])])

    def distinct(self) -> DDS:
        return self.map(lambda x: (x, None)).reduce_by_key(lambda x, _: x).map(
            lambda x: x[0])

    # -- actions --------------------------------------------------------------------------
    def _mapped_partitions(self) -> list[Any]:
        """One output (or value) per partition, with the pending function applied."""
        if self.func is None and not self.paac:
            return [p.retrieve_data() if isinstance(p, PartitionLoader) else p
                    for p in self.partitions]
        if self.paac:
            processed = [tasks.map_collection(self.func, col) for col in self.partitions]
        else:
            processed = [tasks.map_partition(self.func, p) for p in self.partitions]
        self.partitions, self.func, self.paac = processed, None, False
        return list(processed)

    def collect(self, keep_partitions: bool = False, future_objects: bool = False) -> list:
        processed = self._mapped_partitions()
        if future_objects:
            return processed
        processed = compss_wait_on(processed)
        if keep_partitions:
            return [list(p) for p in processed]
        return [item for partition in processed for item in partition]

    def collect_as_dict(self) -> dict:
        return dict(self.collect())

    def reduce(self, func: Callable, initial: Any = MARKER, arity: int = -1) -> Any:
        def local(partition: Iterable) -> list:
            iterator = iter(partition)
            try:
                first = next(iterator)
            except StopIteration:
                return []
            return [functools.reduce(func, iterator, first)]

        pending = deque(self.map_partitions(local).collect(future_objects=True))
        if initial != MARKER:
            pending.append([initial])
        arity = arity if arity > 0 else len(self.partitions)
        while True:
            branch = [pending.popleft() for _ in range(min(arity, len(pending)))]
            if len(branch) <= 1:
                return compss_wait_on(branch[0])[0]
            pending.append(tasks.reduce_multiple(func, branch))

    def count_by_value(self, arity: int = 2, as_dict: bool = True, as_fo: bool = False) -> Any:
        def count(partition: Iterable) -> defaultdict:
            counts: defaultdict = defaultdict(int)
            for item in partition:
                counts[item] += 1
            return counts

        pending = deque(self.map_partitions(count).collect(future_objects=True))
        while len(pending) > 1:
            branch = [pending.popleft() for _ in range(min(arity, len(pending)))]
            first, rest = branch[0], branch[1:]
            tasks.reduce_dicts(first, rest)
            pending.append(first)
        result = pending[0]
        if as_dict:
            return result if as_fo else dict(compss_wait_on(result))
        parts = self.num_of_partitions()
        return DDS().load([tasks.dict_to_list(result, parts, i) for i in range(parts)], -1)

    def sum(self) -> Any:
        return sum(self.map_partitions(lambda x: [sum(x)]).collect())

    def count(self) -> int:
        return self.map_partitions(lambda x: [sum(1 for _ in x)]).sum()

    def foreach(self, func: Callable) -> None:
        self.map(func).collect(future_objects=True)
        compss_barrier()

    def take(self, num: int) -> list:
        items: list = []
        for partition in self.collect(future_objects=True):
            items.extend(list(compss_wait_on(partition))[:num - len(items)])
            if len(items) >= num:
                break
        return items[:num]

    def save_as_text_file(self, path: str) -> None:
        for index, partition in enumerate(self._unjoined()):
            tasks.map_and_save_text_file(self.func, index, path, partition)

    def save_as_pickle(self, path: str) -> None:
        for index, partition in enumerate(self._unjoined()):
            tasks.map_and_save_pickle(self.func, index, path, partition)

    def _unjoined(self) -> list[Any]:
        """The partitions, collections joined first (their function stays pending)."""
        if not self.paac:
            return list(self.partitions)
        return [tasks.map_collection(None, col) for col in self.partitions]

    # -- (key, value) data ----------------------------------------------------------------
    def partition_by(self, partitioner_func: Callable = default_hash,
                     num_of_partitions: int = -1) -> DDS:
        count = len(self.partitions) if num_of_partitions == -1 else num_of_partitions
        grouped: list[list[Any]] = [[] for _ in range(count)]
        for partition in self.partitions:
            buckets: list[list[Any]] = [[] for _ in range(count)]
            if self.paac:
                tasks.distribute_collection(buckets, self.func, partitioner_func, partition)
            else:
                tasks.distribute_partition(buckets, self.func, partitioner_func, partition)
            for index in range(count):
                grouped[index].append(buckets[index])
        return DDS().load(grouped, -1, paac=True)

    def combine_by_key(self, creator_func: Callable, combiner_func: Callable,
                       merger_function: Callable, total_parts: int = -1) -> DDS:
        def combine(partition: Iterable) -> list:
            result: dict = {}
            for key, value in partition:
                result[key] = combiner_func(result[key], value) if key in result \
                    else creator_func(value)
            return list(result.items())

        def merge(partition: Iterable) -> list:
            result: dict = {}
            for key, value in partition:
                result[key] = merger_function(result[key], value) if key in result \
                    else value
            return list(result.items())

        return self.map_partitions(combine).partition_by(
            num_of_partitions=total_parts).map_partitions(merge)

    def reduce_by_key(self, func: Callable) -> DDS:
        return self.combine_by_key(lambda x: x, func, func)

    def count_by_key(self, as_dict: bool = False) -> Any:
        return self.map(lambda x: x[0]).count_by_value(as_dict=as_dict)

    def group_by_key(self, num_of_parts: int = -1) -> DDS:
        def merge(container: list, value: Any) -> list:
            container.append(value)
            return container

        def combine(first: list, second: list) -> list:
            first.extend(second)
            return first

        return self.combine_by_key(lambda v: [v], merge, combine, total_parts=num_of_parts)

    def join(self, other: DDS, num_of_partitions: int = -1) -> DDS:
        def dispatch(values: Iterable) -> list:
            left = [v for side, v in values if side == 1]
            right = [v for side, v in values if side == 2]
            return [(v, w) for v in left for w in right]

        count = len(self.partitions) if num_of_partitions == -1 else num_of_partitions
        tagged_a = self.map_values(lambda v: (1, v))
        tagged_b = other.map_values(lambda v: (2, v))
        return tagged_a.union(tagged_b).group_by_key(num_of_parts=count).flatten_by_key(
            dispatch)

    def sort_by_key(self, ascending: bool = True, num_of_parts: int | None = None,
                    key_func: Callable = lambda x: x) -> DDS:
        parts = len(self.partitions) if num_of_parts is None else num_of_parts
        collected = self.collect(future_objects=True)
        samples = sorted(itertools.chain.from_iterable(compss_wait_on(
            [tasks.collect_samples(p, 20, key_func) for p in collected])))
        bounds = [samples[int(len(samples) * (i + 1) / parts)] for i in range(parts - 1)] \
            if samples else []

        def by_range(key: Any) -> int:
            index = bisect.bisect_left(bounds, key_func(key))
            return index if ascending else parts - 1 - index

        def sort_partition(partition: Iterable) -> list:
            return sorted(partition, key=lambda kv: key_func(kv[0]), reverse=not ascending)

        return DDS().load(collected, -1).partition_by(by_range, parts).map_partitions(
            sort_partition)


__all__ = ["DDS", "default_hash"]
