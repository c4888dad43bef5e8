"""A ledger kept in files, written as PyCOMPSs' own test programs are
(1_collections_files): a list of file names passed as COLLECTION_FILE_OUT, then
COLLECTION_FILE_INOUT twice, then COLLECTION_FILE_IN; the main program reads the
books with compss_open and compss_wait_on_file. The list of names is the same list
object at every call: each call must wait for the previous writers of every file.

Usage: ledger_app.py (run from a scratch directory); exits 0 when every test passes
and prints ``RESULT <json>``.
"""

import json
import sys
import unittest

from ledger.books import audit, open_books, post
from pycompss.api.api import compss_open, compss_wait_on, compss_wait_on_file

SEEN = {}


class LedgerTest(unittest.TestCase):

    def test_open_sees_every_posting(self):
        books = ["cash.txt", "bank.txt"]
        open_books(books, "opened")
        post(books, "rent")
        with compss_open(books[0]) as handle:
            SEEN["cash"] = handle.read().split()
        self.assertEqual(SEEN["cash"], ["opened", "rent"])

    def test_postings_in_order(self):
        books = ["sales.txt", "costs.txt", "tax.txt"]
        open_books(books, "opened")
        post(books, "january")
        post(books, "february")
        seen = audit(books)
        audit(books)
        SEEN["audit"] = compss_wait_on(seen)
        compss_wait_on_file(*books)
        with open(books[2]) as handle:
            SEEN["tax"] = handle.read().split()
        self.assertEqual(SEEN["audit"], [["opened", "january", "february"]] * 3)
        self.assertEqual(SEEN["tax"], ["opened", "january", "february"])
        self.assertEqual(books, ["sales.txt", "costs.txt", "tax.txt"])


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(LedgerTest)
    outcome = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    print("RESULT " + json.dumps({"passed": outcome.wasSuccessful(),
                                  "tests": outcome.testsRun, "seen": SEEN}, sort_keys=True))
    sys.exit(0 if outcome.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
