"""What this installation is: its version, and where its source tree is.

Modules inside the package read these here instead of importing the package itself,
whose ``__init__`` is the user-facing facade sitting above every other layer.
"""

from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"
PACKAGE_DIR = Path(__file__).resolve().parent  # .../eflows_kernel
SOURCE_ROOT = PACKAGE_DIR.parent  # the folder holding eflows_kernel (a checkout's root)
