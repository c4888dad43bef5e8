"""Vote tallies, written as PyCOMPSs' own test programs are (1_decorator_reduce):
``@reduce(chunk_size=...)`` from ``pycompss.api.reduce`` over a COLLECTION_IN of
task outputs, of plain values, and of both mixed; the chunk size given as a string
and as an environment variable.

Usage: TALLY_CHUNK=3 tally_app.py; exits 0 when every test passes and prints
``RESULT <json>``.
"""

import json
import sys
import unittest

from pycompss.api.api import compss_barrier, compss_wait_on
from tally.counting import joined, recount, total

SEEN = {}


class TallyTest(unittest.TestCase):

    def test_reduce_task_outputs(self):
        SEEN["outputs"] = compss_wait_on(total([recount(v) for v in range(1, 6)]))
        self.assertEqual(SEEN["outputs"], 20)

    def test_reduce_values_and_outputs(self):
        votes = []
        for v in range(1, 4):
            votes.append(recount(v))
            votes.append(v)
        compss_barrier()
        SEEN["mixed"] = compss_wait_on(total(votes))
        self.assertEqual(SEEN["mixed"], 15)

    def test_reduce_keeps_the_order(self):
        SEEN["joined"] = compss_wait_on(joined(list("ballots")))
        self.assertEqual(SEEN["joined"], "ballots")


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(TallyTest)
    outcome = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    print("RESULT " + json.dumps({"passed": outcome.wasSuccessful(),
                                  "tests": outcome.testsRun, "seen": SEEN}, sort_keys=True))
    sys.exit(0 if outcome.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
