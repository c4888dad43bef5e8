"""A workshop whose line jams, written as PyCOMPSs' own test programs are
(2_cancel_running_tasks): in a TaskGroup a FILE_INOUT task raises COMPSsException and
the group's FILE_IN readers of its file are cancelled; a FILE_INOUT task submitted
after the group only waited for those readers (it overwrites what they read), so it
runs, and so does the next group's task on that file, which raises again.

Usage: workshop_app.py (run from a scratch directory); exits 0 when every test
passes and prints ``RESULT <json>``.
"""

import json
import sys
import unittest

from pycompss.api.api import TaskGroup, compss_barrier_group, compss_wait_on_file
from pycompss.api.exceptions import COMPSsException
from workshop.line import inspect, jam, repair

SEEN = {}


def shift(log, name, implicit):
    try:
        with TaskGroup(name, implicit):
            jam(log)
            inspect(log)
            inspect(log)
        if not implicit:
            compss_barrier_group(name)
    except COMPSsException as exc:
        SEEN.setdefault("caught", []).append(str(exc))
    repair(log)


class WorkshopTest(unittest.TestCase):

    def test_repairs_after_cancelled_readers(self):
        open("log.txt", "w").close()
        shift("log.txt", "morning", True)
        shift("log.txt", "evening", False)
        compss_wait_on_file("log.txt")
        with open("log.txt") as handle:
            SEEN["log"] = handle.read()
        self.assertEqual(SEEN["caught"], ["the line jammed"] * 2)
        self.assertEqual(SEEN["log"], "JRJR")


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(WorkshopTest)
    outcome = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    print("RESULT " + json.dumps({"passed": outcome.wasSuccessful(),
                                  "tests": outcome.testsRun, "seen": SEEN}, sort_keys=True))
    sys.exit(0 if outcome.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
