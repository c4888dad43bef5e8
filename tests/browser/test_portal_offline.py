"""The portal on an offline login node: nothing is requested from outside the machine.

Every request the page makes to a host other than this machine is aborted and recorded;
there must be none (Voila's lab template links Font Awesome from a CDN, the "eflows"
Voila template this package installs does not), and the icons still render from the
fonts Voila serves itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser import REPO, screenshot

LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


def isolated_env(tmp_path: Path) -> dict[str, str]:
    return {"JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"), "EFLOWS_URL": "",
            "EFLOWS_TOKEN": "", "EFLOWS_STATE_URL": "",
            "EFLOWS_CONFIG": str(tmp_path / "no-config.toml")}


def block_network(page: Any) -> list[str]:
    """Abort every request leaving the machine; the list of those attempted."""
    attempted: list[str] = []

    def handle(route: Any) -> None:
        url = route.request.url
        host = urlsplit(url).hostname or ""
        if url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            attempted.append(url)
            route.abort("internetdisconnected")

    page.context.route("**/*", handle)
    return attempted


@pytest.mark.timeout(240)
def test_portal_renders_offline_with_local_icons(voila_server: Any, page: Any,
                                                 tmp_path: Path) -> None:
    # The portal, plus a formula: JupyterLab's math renderer must not fetch MathJax either.
    content = json.loads((REPO / "notebooks" / "portal.ipynb").read_text())
    content["cells"].append({"cell_type": "markdown", "id": "math", "metadata": {},
                             "source": ["Cost: $O(n \\log n)$ and $$\\sum_i x_i^2$$"]})
    notebook = tmp_path / "portal.ipynb"
    notebook.write_text(json.dumps(content))
    attempted = block_network(page)
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text))
    page.goto(voila_server(notebook, env=isolated_env(tmp_path)))
    for title in ("Credentials", "Sites", "Workflows", "Deploy", "Executions"):
        expect(page.locator(".lm-TabBar-tab", has_text=title).first).to_be_visible(
            timeout=120_000)
    icon = page.locator("button i.fa").first
    expect(icon).to_be_attached()
    page.wait_for_function("() => document.fonts.status === 'loaded'")
    family = icon.evaluate("i => getComputedStyle(i, '::before').fontFamily")
    assert "Font Awesome" in family, family
    glyph = icon.evaluate("i => getComputedStyle(i, '::before').content")
    assert glyph not in ("", "none", "normal"), glyph
    assert page.evaluate("() => document.fonts.check('900 16px \"Font Awesome 5 Free\"')")
    expect(page.locator("mjx-container").first).to_be_attached(timeout=30_000)
    screenshot(page, "portal-offline")
    page.locator(".lm-TabBar-tab", has_text="Executions").first.click()
    page.wait_for_timeout(1000)
    assert attempted == [], f"requests left the machine: {attempted}"
    assert not [m for m in console if "Failed to initialize model" in m], console
