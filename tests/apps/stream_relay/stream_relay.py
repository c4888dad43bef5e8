"""Object streams between tasks, written as a PyCOMPSs test application (unittest style).

Each test starts a producer task on an ObjectDistroStream and consumes it: with a consumer
task faster or slower than the producer, from the main program (one task per polled
object), and through a second stream object found by the same alias. The parcels are
instances of a class from the ``relay`` package beside this file.

Usage: stream_relay.py; exits 0 when every test passes and prints ``RESULT <json>``.
"""

import json
import sys
import time
import unittest

from pycompss.api.api import compss_barrier, compss_wait_on
from pycompss.streams.distro_stream import ObjectDistroStream
from relay.stations import PARCELS_PER_LOAD, load, unload, weigh

EXPECTED_WEIGHT = sum(range(1, PARCELS_PER_LOAD + 1))
SEEN = {}


class RelayTest(unittest.TestCase):

    def consume_with_a_task(self, load_pause, unload_pause):
        belt = ObjectDistroStream()
        load(belt, load_pause)
        count, weight = compss_wait_on(unload(belt, unload_pause))
        return count, weight

    def test_consumer_faster_than_producer(self):
        SEEN["faster"] = self.consume_with_a_task(0.1, 0.03)
        self.assertEqual(SEEN["faster"], (PARCELS_PER_LOAD, EXPECTED_WEIGHT))

    def test_consumer_slower_than_producer(self):
        SEEN["slower"] = self.consume_with_a_task(0.03, 0.15)
        self.assertEqual(SEEN["slower"], (PARCELS_PER_LOAD, EXPECTED_WEIGHT))

    def test_main_program_submits_a_task_per_object(self):
        belt = ObjectDistroStream()
        load(belt, 0.05)
        weights, polls = [], 0
        while not belt.is_closed():
            polls += 1
            weights.extend(weigh(parcel) for parcel in belt.poll())
            time.sleep(0.02)
        weights = compss_wait_on(weights)
        SEEN["per_object"] = [len(weights), sum(weights)]
        self.assertEqual(sorted(weights), list(range(1, PARCELS_PER_LOAD + 1)))
        self.assertGreater(polls, 1)

    def test_alias_names_the_same_stream(self):
        loading = ObjectDistroStream(alias="relay-belt")
        load(loading, 0.03, first_weight=101)
        unloading = ObjectDistroStream(alias="relay-belt")
        count, weight = compss_wait_on(unload(unloading, 0.02))
        compss_barrier()
        SEEN["alias"] = [count, weight]
        self.assertEqual(unloading.get_stream_id(), loading.get_stream_id())
        self.assertEqual((count, weight), (PARCELS_PER_LOAD, EXPECTED_WEIGHT + 100 * 8))


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(RelayTest)
    outcome = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    print("RESULT " + json.dumps({"passed": outcome.wasSuccessful(),
                                  "tests": outcome.testsRun, "seen": SEEN}, sort_keys=True))
    sys.exit(0 if outcome.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
