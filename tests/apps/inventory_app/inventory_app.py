"""Futures updated in place, as PyCOMPSs applications (and pycompss.dds) use them.

A task's output (a future) passed to a task as INOUT stands, from then on, for the
version that task leaves: waiting on the future gives the updated value, and a task
reading it gets the update too. Also ``pycompss.functions.map`` with a task.

Usage: inventory_app.py; exits 0 when every test passes and prints ``RESULT <json>``.
"""

import json
import sys
import unittest

from inventory.counting import count_items, double, merge_into, restock, units
from pycompss.api.api import compss_wait_on
from pycompss.functions.map import map as compss_map
from pycompss.functions.reduce import merge_reduce
from pycompss.runtime.management.object_tracker import OT

WAREHOUSES = [["bolt", "nut", "bolt"], ["nut", "gear"], ["bolt"]]
SEEN = {}


class InventoryTest(unittest.TestCase):

    def test_waiting_on_a_future_updated_inout(self):
        partials = [count_items(items) for items in WAREHOUSES]
        total = partials[0]
        merge_into(total, partials[1:])
        SEEN["merged"] = compss_wait_on(total)
        self.assertEqual(SEEN["merged"], {"bolt": 3, "nut": 2, "gear": 1})

    def test_a_task_reads_the_latest_version(self):
        total = count_items(WAREHOUSES[0])
        restock(total, "gear", 4)
        restock(total, "nut", 1)
        SEEN["units"] = compss_wait_on(units(total))
        self.assertEqual(SEEN["units"], 3 + 4 + 1)
        self.assertEqual(compss_wait_on(total), {"bolt": 2, "nut": 2, "gear": 4})

    def test_the_object_tracker_sees_pending_objects(self):
        shelf = {"bolt": 1}
        restock(shelf, "nut", 2)
        key = OT.get_object_id(shelf)
        pending = key is not None and key in OT.pending_to_synchronize
        shelf = compss_wait_on(shelf)
        SEEN["tracker"] = [pending, OT.get_object_id(shelf), shelf]
        self.assertEqual(SEEN["tracker"], [True, None, {"bolt": 1, "nut": 2}])
        self.assertNotIn(key, OT.pending_to_synchronize)

    def test_functions_map_calls_the_task_per_item(self):
        doubled = compss_map(double, [1, 2, 3])
        self.assertIsInstance(doubled, list)
        SEEN["mapped"] = compss_wait_on(doubled)
        self.assertEqual(SEEN["mapped"], [2, 4, 6])
        # merge_reduce works on the list it is given, as PyCOMPSs' does: pass a copy.
        self.assertEqual(merge_reduce(lambda a, b: a + b, list(SEEN["mapped"])), 12)


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(InventoryTest)
    outcome = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    print("RESULT " + json.dumps({"passed": outcome.wasSuccessful(),
                                  "tests": outcome.testsRun, "seen": SEEN}, sort_keys=True))
    sys.exit(0 if outcome.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
