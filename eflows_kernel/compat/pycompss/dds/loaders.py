"""What a DDS partition is before a task reads it: data, a slice, files, a pickle.

Loaders travel to the task that maps the partition and produce its elements there,
so files are read on the workers (a file system they share with the main program).
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Iterator
from typing import Any

from eflows_kernel.compat.pycompss.util.exceptions import DDSException


class PartitionLoader:
    def retrieve_data(self) -> list[Any]:
        raise NotImplementedError


class DataLoader(PartitionLoader):
    def __init__(self, data: Any) -> None:
        self.data = data

    def retrieve_data(self) -> list[Any]:
        return list(self.data) if isinstance(self.data, list) else [self.data]


class SliceLoader(PartitionLoader):
    """Elements ``start:end`` of an iterable (a dict gives its sorted (key, value) pairs)."""

    def __init__(self, iterable: Any, start: int, end: int) -> None:
        self.iterable, self.start, self.end = iterable, start, end

    def retrieve_data(self) -> list[Any]:
        if isinstance(self.iterable, dict):
            keys = sorted(self.iterable)[self.start:self.end]
            return [(key, self.iterable[key]) for key in keys]
        if isinstance(self.iterable, list):
            return list(self.iterable[self.start:self.end])
        return [item for index, item in enumerate(self.iterable)
                if self.start <= index < self.end]


class FilesLoader(PartitionLoader):
    """(path, content) of each file, or one chunk of a single file."""

    def __init__(self, paths: list[str], single_file: bool = False, start: int = 0,
                 chunk_size: int | None = None) -> None:
        if single_file and not chunk_size:
            raise DDSException("Missing chunk_size argument...")
        self.paths, self.single_file = paths, single_file
        self.start, self.chunk_size = start, chunk_size

    def retrieve_data(self) -> list[Any]:
        if self.single_file:
            with open(self.paths[0]) as handle:
                handle.seek(self.start)
                return [handle.read(self.chunk_size)]
        contents = []
        for path in self.paths:
            with open(path) as handle:
                contents.append((path, handle.read()))
        return contents


class PickleLoader(PartitionLoader):
    def __init__(self, path: str) -> None:
        self.path = path

    def retrieve_data(self) -> list[Any]:
        with open(self.path, "rb") as handle:
            return pickle.load(handle)


def read_in_chunks(file_name: str, chunk_size: int = 1024,
                   strip: bool = True) -> Iterator[list[str]]:
    """Lines of a file, in partitions of a little more than ``chunk_size`` bytes."""
    partition: list[str] = []
    collected = 0
    with open(file_name) as handle:
        for line in handle:
            text = line.rstrip("\n") if strip else line
            partition.append(text)
            collected += sys.getsizeof(text)
            if collected > chunk_size:
                yield partition
                partition, collected = [], 0
    if partition:
        yield partition


def read_lines(file_name: str, num_of_lines: int = 1024,
               strip: bool = True) -> Iterator[list[str]]:
    """Lines of a file, ``num_of_lines + 1`` per partition (as PyCOMPSs counts them)."""
    partition: list[str] = []
    with open(file_name) as handle:
        for line in handle:
            partition.append(line.rstrip("\n") if strip else line)
            if len(partition) > num_of_lines:
                yield partition
                partition = []
    if partition:
        yield partition
