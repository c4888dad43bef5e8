"""pycompss.functions and friends, as PyCOMPSs applications use them.

unittest-style: the test case checks every result; the last line printed is
``RESULT <json>`` with what the runner test compares.
"""

import json
import os
import sys
import tempfile
import time
import unittest

from fragment_tasks import add, add3, row_sums, timed_square, where_am_i
from pycompss.api.api import (
    compss_barrier,
    compss_free_resources,
    compss_get_number_of_resources,
    compss_request_resources,
    compss_wait_on,
)
from pycompss.functions.data import chunks, generator
from pycompss.functions.elapsed_time import timeit
from pycompss.functions.reduce import merge_n_reduce, merge_reduce
from pycompss.runtime.management.classes import Future
from pycompss.util.context import CONTEXT
from pycompss.util.serialization.serializer import deserialize_from_file, serialize_to_file

RESULTS = {}


class TestFunctions(unittest.TestCase):

    def test_merge_reduce_tree(self):
        data = [add(i, 0) for i in range(7)]
        self.assertTrue(all(isinstance(d, Future) for d in data))
        total = merge_reduce(add, data)
        self.assertIsInstance(total, Future)
        # Like PyCOMPSs: partial results are written into the caller's list.
        self.assertIsInstance(data[0], Future)
        RESULTS["merge_reduce"] = compss_wait_on(total)
        self.assertEqual(RESULTS["merge_reduce"], 21)

    def test_merge_n_reduce(self):
        RESULTS["merge_n_reduce"] = compss_wait_on(merge_n_reduce(add3, 3, list(range(9))))
        self.assertEqual(RESULTS["merge_n_reduce"], 36)

    def test_generator(self):
        fragments = generator((6, 2), 3, seed=7, distribution="random")
        self.assertEqual(len(fragments), 3)
        self.assertTrue(all(isinstance(f, Future) for f in fragments))
        sums = compss_wait_on([row_sums(f) for f in fragments])
        values = compss_wait_on(fragments)
        self.assertEqual([len(f) for f in values], [2, 2, 2])
        # PyCOMPSs seeds every fragment with the same seed: identical fragments.
        self.assertEqual(values[0], values[1])
        self.assertEqual(sums[0], [round(sum(r), 9) for r in values[0]])
        normal = generator((4, 3), 2, seed=1, distribution="normal", wait=True)
        self.assertFalse(any(isinstance(f, Future) for f in normal))
        self.assertIsNone(generator((4, 3), 2, distribution="poisson"))
        RESULTS["generator"] = [len(values), len(values[0][0]), values[0] == values[2]]

    def test_chunks(self):
        RESULTS["chunks"] = list(chunks(list(range(7)), 3))
        self.assertEqual(list(chunks(list(range(7)), 3, balanced=True)),
                         [[0, 1, 2, 3], [4, 5, 6]])

    def test_timeit(self):
        result, seconds = compss_wait_on(timed_square(9))
        self.assertEqual(result, 81)
        self.assertGreaterEqual(seconds, 0.0)

        @timeit()
        def submit():
            return add(1, 2)

        future, submit_time = submit()
        self.assertIsInstance(future, Future)
        RESULTS["timeit"] = [result, compss_wait_on(future), submit_time < 5]

    def test_context(self):
        self.assertTrue(CONTEXT.in_master())
        self.assertFalse(CONTEXT.in_worker())
        RESULTS["context"] = list(compss_wait_on(where_am_i()))

    def test_resources(self):
        def wait_for(count):
            deadline = time.time() + 60
            while compss_get_number_of_resources() != count and time.time() < deadline:
                time.sleep(0.2)
            return compss_get_number_of_resources()

        before = compss_get_number_of_resources()
        compss_request_resources(1, None)
        grown = wait_for(before + 1)
        compss_free_resources(1, None)
        shrunk = wait_for(before)
        RESULTS["resources"] = [grown - before, shrunk - before]

    def test_serializer(self):
        path = os.path.join(tempfile.mkdtemp(), "obj.bin")
        serialize_to_file({"a": [1, 2]}, path, None)
        RESULTS["serializer"] = deserialize_from_file(path, None)


if __name__ == "__main__":
    outcome = unittest.main(exit=False, verbosity=0).result
    compss_barrier()
    if not outcome.wasSuccessful():
        sys.exit(1)
    print("RESULT " + json.dumps(RESULTS, sort_keys=True))
