"""Browser tests: real Voilà / Jupyter servers driven by headless Chromium (Playwright).

The fixtures live in conftest.py; this module holds the helpers tests import directly::

    from tests.browser import screenshot
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
# Screenshots (kept and on-failure) go here; the directory is git-ignored.
ARTIFACTS = REPO / "test-artifacts"


def slug(text: str) -> str:
    """A file-name-safe version of ``text`` (e.g. a pytest node id)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:150]


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG of ``page`` to ``<repo>/test-artifacts/<name>.png`` and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{slug(name)}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
