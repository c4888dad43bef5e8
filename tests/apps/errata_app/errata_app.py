"""Decorators with a misspelt parameter name, written as PyCOMPSs' own test programs
are (2_cancel_running_tasks: ``@task(file_path=FILE_IN)`` over ``def f(file_name)``):
PyCOMPSs ignores the direction, so the parameter is IN and the program runs.

Usage: errata_app.py (run from a scratch directory); exits 0 when every test passes
and prints ``RESULT <json>``.
"""

import json
import sys
import unittest

from errata.jobs import count, measure, stamp
from pycompss.api.api import compss_barrier, compss_wait_on

SEEN = {}


class ErrataTest(unittest.TestCase):

    def test_misnamed_file_directions(self):
        stamp("notes.txt", "ab")
        compss_barrier()
        stamp("notes.txt", "c")
        compss_barrier()
        SEEN["length"] = compss_wait_on(measure("notes.txt"))
        self.assertEqual(SEEN["length"], 3)

    def test_misnamed_inout_is_in(self):
        items = ["one"]
        SEEN["count"] = [compss_wait_on(count(items)), items]
        self.assertEqual(SEEN["count"], [2, ["one"]])


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(ErrataTest)
    outcome = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    print("RESULT " + json.dumps({"passed": outcome.wasSuccessful(),
                                  "tests": outcome.testsRun, "seen": SEEN}, sort_keys=True))
    sys.exit(0 if outcome.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
