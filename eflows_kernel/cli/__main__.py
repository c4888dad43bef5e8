"""``python -m eflows_kernel.cli``: the ``eflows`` command."""

import sys

from eflows_kernel.cli import main

sys.exit(main())
