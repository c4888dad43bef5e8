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


# The task-graph widget publishes its state on its element (data-status, data-total,
# data-counts: tasks per state in the order pending, ready, running, done, failed,
# cancelled); its canvas has no DOM nodes to inspect.
GRAPH_STATES = ("pending", "ready", "running", "done", "failed", "cancelled")


def graphs(page: Any) -> list[dict[str, Any]]:
    """Status, total and per-state counts of every task graph on the page, in order."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('.eflows-graph'))
        .map(g => ({status: g.dataset.status, total: Number(g.dataset.total || 0),
                    counts: JSON.parse(g.dataset.counts || '[0,0,0,0,0,0]'),
                    mode: g.dataset.mode, theme: g.dataset.theme}))""")


def wait_for_graph(page: Any, index: int = 0, timeout: float = 60_000, *,
                   status: str | None = None, done: int | None = None,
                   min_total: int = 1) -> dict[str, Any]:
    """Wait until graph ``index`` has ``min_total`` tasks (and ``status`` / ``done``)."""
    page.wait_for_function(
        """([index, status, done, minTotal]) => {
             const g = document.querySelectorAll('.eflows-graph')[index];
             if (!g || Number(g.dataset.total || 0) < minTotal) return false;
             const counts = JSON.parse(g.dataset.counts || '[0,0,0,0,0,0]');
             return (status === null || g.dataset.status === status)
                 && (done === null || counts[3] === done); }""",
        arg=[index, status, done, min_total], timeout=timeout)
    return graphs(page)[index]


def lab_env(tmp_path: Path) -> dict[str, str]:
    """A JupyterLab server's environment with state of its own under ``tmp_path``."""
    return {"JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"), "EFLOWS_STATE_URL": "",
            "EFLOWS_VAULT_KEY": "", "EFLOWS_CONFIG": str(tmp_path / "no-config.toml")}


def sleep_spec(seconds: float) -> dict[str, Any]:
    """A workflow of ``n`` (3) parallel tasks sleeping ``seconds`` each."""
    return {"name": "sleeper",
            "inputs": [{"name": "n", "type": "integer", "default": 3, "required": False}],
            "steps": [{"name": "sleep",
                       "application": str(REPO / "tests" / "apps" / "parallel_sleep.py"),
                       "arguments": ["${n}", str(seconds)]}]}


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG of ``page`` to ``<repo>/test-artifacts/<name>.png`` and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{slug(name)}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
