"""The portal notebook in JupyterLab and Notebook 7: tabs render, a click reaches the kernel.

Issue #6: the widgets must work in JupyterLab, Notebook 7 and Voila (Voila: see
test_portal_voila.py). Here ``notebooks/portal.ipynb`` runs in a real ``jupyter lab`` with
the eflows extension (the one tests/browser share), so the kernel's ``portal()`` talks to
*that* server over REST (the extension exports ``EFLOWS_URL``/``EFLOWS_TOKEN`` to its
kernels): the Generate click goes
browser -> kernel -> server's vault -> kernel -> browser, and the test checks through the
server's own REST API that the key really landed in the (throw-away) vault.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from eflows_kernel.client.rest import EflowsClient
from eflows_kernel.ui.portal import TITLES as TITLES_IN_ORDER
from tests.browser import REPO, screenshot


def tab(page: Any, title: str) -> Any:
    """The tab bar entry called ``title`` (ipywidgets 8 Tab: a Lumino tab bar)."""
    return page.locator(".lm-TabBar-tab", has_text=title).first


def open_and_run(page: Any, folder: Any, ui: str) -> None:
    """Open the portal notebook in ``ui``, wait for an idle kernel, then Run All Cells.

    Waiting for idle first matters: a Run All sent before the kernel is ready is queued
    silently in Notebook 7, and the test would then wait on a page that never changes.
    """
    if ui == "jupyterlab":
        page.goto(folder.lab("portal.ipynb"))
        expect(page.get_by_text("Python 3 (ipykernel) | Idle").first).to_be_visible(
            timeout=120_000)
    else:
        page.goto(folder.notebook("portal.ipynb"))
        expect(page.locator(".jp-Notebook").first).to_be_visible(timeout=120_000)
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(
            state="attached", timeout=120_000)
    page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()


@pytest.fixture
def rest(lab_folder: Any) -> Iterator[EflowsClient]:
    """The shared JupyterLab's REST API; the credentials a test made are deleted after it,
    so the next test finds the vault empty again."""
    client = EflowsClient(lab_folder.server.url, lab_folder.server.token)
    yield client
    for credential in client.credentials.list():
        client.credentials.delete(credential.id)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("ui", ["jupyterlab", "notebook7"])
def test_portal_renders_tabs_and_generates_a_credential(
        ui: str, lab_folder: Any, rest: EflowsClient, page: Any) -> None:
    # The shared server (tests/browser/conftest.py) runs without the caller's EFLOWS_URL /
    # EFLOWS_TOKEN: the kernel finds *this* server, whose state is of its own.
    server = lab_folder.server
    shutil.copy(REPO / "notebooks" / "portal.ipynb", lab_folder.path / "portal.ipynb")
    assert rest.credentials.list() == []  # a fresh vault, not somebody's real one

    open_and_run(page, lab_folder, ui)
    for title in TITLES_IN_ORDER:
        expect(tab(page, title)).to_be_visible(timeout=120_000)
    # The portal uses this server's services, not in-process ones.
    expect(page.get_by_text(f"services: {server.url}").first).to_be_visible()

    # A click reaches the kernel, which asks the server's vault; the answer comes back.
    tab(page, "Credentials").click()  # the first tab is the guided Connect
    name = f"{ui}-key"
    page.get_by_placeholder("e.g. hpc-key").fill(name)
    page.get_by_role("button", name="Generate").click()
    message = page.get_by_text(f"Generated {name} (SHA256:")
    expect(message).to_be_visible(timeout=30_000)
    fingerprint = message.inner_text().split("(", 1)[1].rstrip(").")
    listing = page.locator("select option", has_text=f"{name} — ed25519 — SHA256:")
    expect(listing).to_have_count(1)
    assert fingerprint in listing.inner_text()
    page.wait_for_function("""() => Array.from(document.querySelectorAll('textarea'))
        .some(t => t.value.startsWith('ssh-ed25519 ') && t.value.includes(' eflows:'))""")
    stored = rest.credentials.list()
    assert [(c.name, c.fingerprint) for c in stored] == [(name, fingerprint)]
    screenshot(page, f"portal-{ui}-credential-generated")

    # The other tabs open, and the new key is offered in the Sites tab.
    for title in [t for t in TITLES_IN_ORDER if t != "Credentials"]:
        tab(page, title).click()
        expect(tab(page, title)).to_have_class(
            re.compile(r"\blm-mod-current\b"))
    tab(page, "Sites").click()
    expect(page.locator("select option", has_text=name).first).to_be_attached()
