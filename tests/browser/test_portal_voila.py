"""The portal dashboard in Voila: every tab renders, and a click goes to the kernel and back.

Standalone ``voila notebooks/portal.ipynb`` (no Jupyter server): the kernel's
``portal()`` uses the in-process services, on a throw-away Jupyter data dir here.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from eflows_kernel.ui.portal import TITLES as TITLES_IN_ORDER
from tests.browser import REPO, screenshot


def isolated_env(tmp_path: Path) -> dict[str, str]:
    """Kernel state under ``tmp_path``, and no eflows server to talk to."""
    return {"JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"), "EFLOWS_URL": "",
            "EFLOWS_TOKEN": "", "EFLOWS_STATE_URL": "",
            "EFLOWS_CONFIG": str(tmp_path / "no-config.toml")}


def tab(page: Any, title: str) -> Any:
    """The tab bar entry called ``title`` (ipywidgets 8 Tab: a Lumino tab bar)."""
    return page.locator(".lm-TabBar-tab", has_text=title).first


@pytest.mark.timeout(240)
def test_portal_renders_tabs_and_generates_a_credential(voila_server: Any, page: Any,
                                                        tmp_path: Path) -> None:
    notebook = tmp_path / "portal.ipynb"
    shutil.copy(REPO / "notebooks" / "portal.ipynb", notebook)
    page.goto(voila_server(notebook, env=isolated_env(tmp_path)))
    for title in TITLES_IN_ORDER:
        expect(tab(page, title)).to_be_visible(timeout=120_000)
    expect(page.get_by_text("this process (no Jupyter server)")).to_be_visible()
    screenshot(page, "portal-voila-credentials")

    # A click reaches the kernel (the vault generates a key) and the answer comes back.
    tab(page, "Credentials").click()  # the first tab is the guided Connect
    page.get_by_placeholder("e.g. hpc-key").fill("voila-key")
    page.get_by_role("button", name="Generate").click()
    message = page.get_by_text("Generated voila-key (SHA256:")
    expect(message).to_be_visible(timeout=30_000)
    fingerprint = message.inner_text().split("(", 1)[1].rstrip(").")
    listing = page.locator("select option", has_text="voila-key — ed25519 — SHA256:")
    expect(listing).to_have_count(1)
    assert fingerprint in listing.inner_text()
    # The selected key's public half and authorized_keys line are filled in (values, not text).
    page.wait_for_function("""() => Array.from(document.querySelectorAll('textarea'))
        .some(t => t.value.startsWith('ssh-ed25519 ') && t.value.includes(' eflows:'))""")
    screenshot(page, "portal-voila-credential-generated")

    for title in [t for t in TITLES_IN_ORDER if t != "Credentials"]:
        tab(page, title).click()
        page.wait_for_timeout(500)
        screenshot(page, f"portal-voila-{title.lower()}")
    tab(page, "Sites").click()
    # The key generated in the first tab is offered in the next one.
    expect(page.locator("select option", has_text="voila-key").first).to_be_attached()
    docs = REPO / "docs" / "screenshots"
    docs.mkdir(exist_ok=True)
    shutil.copy(REPO / "test-artifacts" / "portal-voila-credential-generated.png",
                docs / "portal-credentials.png")
