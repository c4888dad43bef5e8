"""A ledger kept by nested applications, written as PyCOMPSs' own test programs are.

Each ``@compss`` task runs a whole PyCOMPSs application (in ``ledger/apps/``) with the
task's parameters as its arguments and gets back the application's exit value:
0 from one whose own tasks summed a range into a file, the value it passed to
``sys.exit`` from another, and non-zero from one whose task raised (the task itself
does not fail, as in PyCOMPSs). ``runcompss`` unset, or naming an environment variable
that is not set, runs the application with this runtime.

Usage: nested_app.py (2 workers, 2 cores each); exits 0 when every test passes and
prints ``RESULT <json>``.
"""

import json
import os
import sys
import unittest

from ledger.books import close_books, sum_range, sum_range_default
from pycompss.api.api import compss_wait_on

SEEN = {}


class LedgerTest(unittest.TestCase):

    def test_nested_application_runs_its_tasks(self):
        target = os.path.abspath("sum-1-10.txt")
        code = compss_wait_on(sum_range(1, 10, target))
        with open(target) as handle:
            total = int(handle.read())
        SEEN["sum"] = [code, total]
        self.assertEqual((code, total), (0, 55))

    def test_runtime_found_without_runcompss(self):
        target = os.path.abspath("sum-3-4.txt")
        code = compss_wait_on(sum_range_default(3, 4, target))
        with open(target) as handle:
            SEEN["default"] = [code, int(handle.read())]
        self.assertEqual(SEEN["default"], [0, 7])

    def test_exit_values_come_back(self):
        quits = close_books(42)
        raises = close_books(-1)
        SEEN["exits"] = compss_wait_on([quits, raises])
        self.assertEqual(SEEN["exits"][0], 42)
        self.assertNotEqual(SEEN["exits"][1], 0)


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(LedgerTest)
    outcome = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    print("RESULT " + json.dumps({"passed": outcome.wasSuccessful(),
                                  "tests": outcome.testsRun, "seen": SEEN}, sort_keys=True))
    sys.exit(0 if outcome.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
