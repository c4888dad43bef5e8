"""A roster, written as PyCOMPSs' own test programs are (1_decorator_multinode):
COMPSS_HOSTNAMES as PyCOMPSs sets it. The Python body of a @multinode task sees each
of its nodes once (PyCOMPSs' Python worker), a program sees each node once per core
(COMPSs' invokers, what a hostfile lists). A program's stdout into a FILE_OUT is
that file's new version; into a FILE_INOUT it is appended.

Usage: roster_app.py (2 workers, 2 cores each); exits 0 when every test passes and
prints ``RESULT <json>``.
"""

import json
import sys
import unittest

from pycompss.api.api import compss_open, compss_wait_on
from roster.shifts import log_shift, night_shift, program_shift

SEEN = {}


class RosterTest(unittest.TestCase):

    def test_multinode_body_sees_each_node_once(self):
        seen = compss_wait_on(night_shift())
        SEEN["multinode"] = [len(seen["names"]), seen["nodes"], seen["threads"]]
        self.assertEqual(SEEN["multinode"], [2, 2, 2])

    def test_program_sees_a_name_per_core(self):
        # Twice into one FILE_OUT stdout: the second run's output is the file's new
        # version, the first one's is not kept.
        program_shift("echo first; echo $COMPSS_HOSTNAMES", "program.txt")
        program_shift("echo $COMPSS_HOSTNAMES", "program.txt")
        with compss_open("program.txt") as handle:
            lines = handle.read().splitlines()
        SEEN["program"] = [len(lines), len(lines[0].split(","))]
        self.assertEqual(SEEN["program"], [1, 2])

    def test_inout_stdout_is_appended_to(self):
        with open("log.txt", "w") as handle:
            handle.write("opened\n")
        log_shift("echo one", "log.txt")
        log_shift("echo two", "log.txt")
        with compss_open("log.txt") as handle:
            SEEN["log"] = handle.read().splitlines()
        self.assertEqual(SEEN["log"], ["opened", "one", "two"])


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(RosterTest)
    outcome = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    print("RESULT " + json.dumps({"passed": outcome.wasSuccessful(),
                                  "tests": outcome.testsRun, "seen": SEEN}, sort_keys=True))
    sys.exit(0 if outcome.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
