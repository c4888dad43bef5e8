"""Decorators defined without a mandatory argument, as PyCOMPSs' own test program
8_argument_error defines them: PyCOMPSs refuses each definition (@compss without
app_name, @decaf without df_script, @implement without method, @mpi without runner),
while the older camelCase spellings are accepted with a warning.

Usage: blueprint_app.py; exits 0 when every test passes and prints ``RESULT <json>``.
"""

import json
import sys
import unittest

from blueprint import drafts

SEEN = {}


class BlueprintTest(unittest.TestCase):

    def test_missing_mandatory_arguments(self):
        SEEN["refused"] = [drafts.refused(make) for make in (
            drafts.nested_without_app, drafts.dataflow_without_script,
            drafts.variant_without_method, drafts.ranks_without_runner)]
        self.assertEqual(SEEN["refused"], ["TaskDefinitionError"] * 4)

    def test_older_spellings(self):
        SEEN["deprecated"] = drafts.older_spellings()
        self.assertEqual(SEEN["deprecated"], ["@compss", "@decaf"])


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(BlueprintTest)
    outcome = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    print("RESULT " + json.dumps({"passed": outcome.wasSuccessful(),
                                  "tests": outcome.testsRun, "seen": SEEN}, sort_keys=True))
    sys.exit(0 if outcome.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
