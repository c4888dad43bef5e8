"""Notebook kernels under nbval run on a throw-away Jupyter data dir.

``portal.ipynb`` is the user's dashboard: ``portal()`` connects to the default
services, whose state (database, vault key, runs) lives in the Jupyter data dir.
Under test it must not create or read the state of whoever runs the tests, so every
notebook kernel (started at its first cell's setup, inheriting this environment)
gets a temporary ``JUPYTER_DATA_DIR``; kernel specs are still found in the venv.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """Around each notebook cell's setup (the first one starts the kernel)."""
    if item.path.parent != NOTEBOOKS or item.path.suffix != ".ipynb":
        return (yield)
    saved = {name: os.environ.get(name) for name in ("JUPYTER_DATA_DIR", "EFLOWS_URL",
                                                     "EFLOWS_TOKEN", "EFLOWS_STATE_URL",
                                                     "EFLOWS_CONFIG")}
    data_dir = tempfile.mkdtemp(prefix="eflows-nbval-data-")
    os.environ["JUPYTER_DATA_DIR"] = data_dir
    os.environ["EFLOWS_CONFIG"] = os.path.join(data_dir, "no-config.toml")  # no server URL
    for name in ("EFLOWS_URL", "EFLOWS_TOKEN", "EFLOWS_STATE_URL"):
        os.environ.pop(name, None)
    try:
        return (yield)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
