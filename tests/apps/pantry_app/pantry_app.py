"""A pantry, written as PyCOMPSs' own test programs are: what their runtime accepts.

INOUT on immutable objects (tuples, complex numbers, ints), generators passed to and
returned by tasks, ``sys`` used without importing it (PyCOMPSs' launcher runs the
main program in its own globals), and ``@multinode(computing_nodes=...)`` naming a
global variable or a parameter, read at each call.

Usage: pantry_app.py (3 workers); exits 0 when every test passes and prints
``RESULT <json>``.
"""

import json
import unittest

import pantry.stock as stock_module
from pantry.stock import count_with, next_jar, skip_jar, stock, stocktake
from pycompss.api.api import compss_barrier, compss_wait_on

SEEN = {}


def jars(n):
    yield from range(n)


class PantryTest(unittest.TestCase):

    def test_inout_on_immutable_objects(self):
        shelf = ["jam"]
        label = ("honey", 2)
        price = complex("1+2j")
        count = 7
        stock(shelf, label, price, count)
        stock(shelf, label, price, count)
        shelf = compss_wait_on(shelf)
        label = compss_wait_on(label)
        price = compss_wait_on(price)
        count = compss_wait_on(count)
        SEEN["immutable"] = [shelf, list(label), [price.real, price.imag], count]
        self.assertEqual(shelf, ["jam", "honey", "honey"])
        self.assertEqual((label, price, count), (("honey", 2), complex("1+2j"), 7))

    def test_generators(self):
        row = jars(10)
        next(row)
        next(row)
        SEEN["next"] = compss_wait_on(next_jar(row))  # 2: the main program took 0, 1
        row = jars(10)
        next(row)
        rest = compss_wait_on(skip_jar(row))
        SEEN["rest"] = list(rest)  # 0 taken here, 1 skipped by the task
        self.assertEqual(SEEN["next"], 2)
        self.assertEqual(SEEN["rest"], [2, 3, 4, 5, 6, 7, 8, 9])

    def test_nodes_read_at_each_call(self):
        stock_module.crew = 2
        two = stocktake()
        stock_module.crew = 3
        three = stocktake()
        one = count_with(1)
        compss_barrier()
        SEEN["nodes"] = compss_wait_on([two, three, one])
        self.assertEqual(SEEN["nodes"], [2, 3, 11])


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(PantryTest)
    outcome = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)  # noqa: F821
    SEEN["python"] = list(sys.version_info[:1])  # noqa: F821
    print("RESULT " + json.dumps({"passed": outcome.wasSuccessful(),
                                  "tests": outcome.testsRun, "seen": SEEN}, sort_keys=True))
    sys.exit(0 if outcome.wasSuccessful() else 1)  # noqa: F821


if __name__ == "__main__":
    main()
