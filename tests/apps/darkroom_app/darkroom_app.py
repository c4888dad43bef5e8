"""Photographic plates kept in shared memory, as PyCOMPSs' 1_sharedarray test
program uses ``pycompss.util.sharedmemory.shma``: an array serialised to a file
handler and to a segment named after the file, deserialised twice in the main
program (one memory: a change through one array is seen through the other), then
attached to by a task in a worker process, whose change the main program sees.

Usage: darkroom_app.py (run from a scratch directory); exits 0 when every test
passes and prints ``RESULT <json>``.
"""

import json
import sys
import tempfile
import unittest

import numpy as np
from darkroom.plates import develop
from pycompss.api.api import compss_wait_on
from pycompss.util.sharedmemory.shma import (
    clear_shma,
    delete_shma,
    deserialize_from_shm,
    serialize_to_shm,
)

SEEN = {}


class DarkroomTest(unittest.TestCase):

    def test_one_memory_in_the_main_program(self):
        with tempfile.NamedTemporaryFile(dir=".") as handler:
            serialize_to_shm(np.zeros((4, 5)), handler)
            first = deserialize_from_shm(handler)
            second = deserialize_from_shm(handler)
            second += 1
            SEEN["main"] = [type(first).__name__, list(first.shape), float(first.sum())]
            self.assertEqual(SEEN["main"], ["ndarray", [4, 5], 20.0])
            saved = np.load(handler.name)  # the file keeps what was serialised
            self.assertEqual(float(saved.sum()), 0.0)
            delete_shma(handler.name)
            clear_shma(False)

    def test_a_task_attaches(self):
        with tempfile.NamedTemporaryFile(dir=".") as handler:
            serialize_to_shm(np.ones((3, 3)), handler)
            SEEN["task"] = compss_wait_on(develop(handler.name))
            SEEN["after"] = float(deserialize_from_shm(handler).sum())
            delete_shma(handler.name)
            clear_shma(True)
        self.assertEqual(SEEN["task"], [[3, 3], 99.0])
        self.assertEqual(SEEN["after"], 99.0)


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(DarkroomTest)
    outcome = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    print("RESULT " + json.dumps({"passed": outcome.wasSuccessful(),
                                  "tests": outcome.testsRun, "seen": SEEN}, sort_keys=True))
    sys.exit(0 if outcome.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
