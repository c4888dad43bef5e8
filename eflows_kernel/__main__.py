"""``python -m eflows_kernel app.py args``: same as ``eflows-run``."""

import sys

from eflows_kernel.engine.runner import main

sys.exit(main())
