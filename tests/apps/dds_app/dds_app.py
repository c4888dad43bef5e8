"""pycompss.dds: the examples of PyCOMPSs' DDS documentation, a word count, loaders.

Usage: dds_app.py <work dir>; prints ``RESULT <json>``.
"""

import json
import os
import shutil
import sys

from pycompss.dds import DDS


def examples():
    first = DDS().load([0, 1, 2, 3, 4], 2)
    second = DDS().load([5, 6, 7, 8, 9], 3)
    test = list(range(10)) + list(range(5))
    x = DDS().load([("a", 1), ("b", 3)])
    y = DDS().load([("a", 2), ("b", 4)])
    return {
        "union_count": first.union(second).count(),
        "partitions": DDS().load(range(10), 5).num_of_partitions(),
        "map": sorted(DDS().load(range(10), 5).map(lambda v: v * 2).collect()),
        "map_partitions": DDS().load(range(10), 5).map_partitions(
            lambda p: [sum(p)]).collect(True),
        "flat_map": sorted(DDS().load([2, 3, 4]).flat_map(lambda v: range(1, v)).collect()),
        "filter": DDS().load(range(10), 5).filter(lambda v: v % 2).count(),
        "reduce": DDS().load(range(10), 5).reduce(lambda b, a: b + a, 100),
        "distinct": DDS().load(test, 5).distinct().count(),
        "count_by_value": sorted(DDS().load([0, 1, 2], 2).union(DDS().load([2, 3, 4], 3))
                                 .count_by_value(as_dict=True).items()),
        "key_by": DDS().load(range(3), 2).key_by(lambda v: str(v)).collect(),
        "sum": DDS().load(range(3), 2).sum(),
        "collect": [DDS().load(range(10), 2).collect(True), DDS().load(range(10), 2).collect()],
        "as_dict": DDS().load([("a", 1), ("b", 1)]).collect_as_dict(),
        "keys_values": [DDS().load([("a", 1), ("b", 2)]).keys().collect(),
                        DDS().load([("a", 1), ("b", 2)]).values().collect()],
        "partition_by": DDS().load(range(6)).map(lambda v: (v, v)).partition_by(
            num_of_partitions=3).collect(True),
        "map_values": DDS().load([("a", 1), ("b", 1)]).map_values(lambda v: v + 1).collect(),
        "flatten_by_key": DDS().load([("a", [1, 2]), ("b", [1])]).flatten_by_key(
            lambda v: v).collect(),
        "join": sorted(x.join(y).collect()),
        "reduce_by_key": DDS().load([("a", 1), ("a", 2)]).reduce_by_key(
            lambda a, b: a + b).collect(),
        "count_by_key": DDS().load([("a", 100), ("a", 200)]).count_by_key(True),
        "group_by_key": sorted(DDS().load([("a", 1), ("b", 2), ("a", 2), ("b", 4)])
                               .group_by_key().collect()),
        "sort_by_key": DDS().load([(k, None) for k in [5, 3, 9, 1, 7, 2, 8]], 3)
        .sort_by_key().keys().collect(),
        "take": DDS().load(range(20), 4).take(6),
    }


def word_count(work):
    folder = os.path.join(work, "wc")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for i in range(5):
        with open(os.path.join(folder, f"part{i}.txt"), "w") as handle:
            handle.write("Holala World test COMPSs Lorem Ipsum " + "extra " * i)
    counts = DDS().load_files_from_dir(folder).flat_map(lambda kv: kv[1].split()) \
        .count_by_value(as_dict=True)
    by_key = dict(DDS().load_files_from_dir(folder, 2).flat_map(lambda kv: kv[1].split())
                  .map(lambda w: (w, 1)).reduce_by_key(lambda a, b: a + b).collect())
    return {"counts": dict(sorted(counts.items())), "same": counts == by_key}


def loaders(work):
    text = os.path.join(work, "lines.txt")
    with open(text, "w") as handle:
        handle.write("First Line! \nSecond Line! \n")
    hello = os.path.join(work, "hello.txt")
    with open(hello, "w") as handle:
        handle.write("Hello world!")
    saved = os.path.join(work, "saved")
    shutil.rmtree(saved, ignore_errors=True)
    os.makedirs(saved)
    DDS().load(range(6), 2).map(lambda v: v * 10).save_as_pickle(saved)
    from pycompss.api.api import compss_barrier

    compss_barrier()
    return {"text": DDS().load_text_file(text).collect(),
            "chunks": DDS().load_file(hello, 6).collect(),
            "worker_chunks": DDS().load_file(hello, 6, worker_read=True).collect(),
            "pickles": DDS().load_pickle_files(saved).collect(True)}


if __name__ == "__main__":
    work = sys.argv[1]
    os.makedirs(work, exist_ok=True)
    print("RESULT " + json.dumps({"examples": examples(), "word_count": word_count(work),
                                  "loaders": loaders(work)}, sort_keys=True))
