"""A plain script (no task) that ends with ``sys.exit(3)``.

Usage:
    eflows-run --workers 2 tests/apps/failing_exit.py
"""

import sys

print("exiting with status 3")
sys.exit(3)
