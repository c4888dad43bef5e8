"""A unittest suite whose test cases call tasks, as PyCOMPSs' own test applications do."""
import json
import sys
import unittest

from suite.accounts_cases import TestAccounts


def main():
    suite = unittest.TestLoader().loadTestsFromTestCase(TestAccounts)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    print("RESULT " + json.dumps({"run": result.testsRun,
                                  "failures": len(result.failures),
                                  "errors": len(result.errors)}, sort_keys=True))
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
