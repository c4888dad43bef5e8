"""Portal: the tabs share one client, Deploy… opens the form, executions poll only when shown."""

from __future__ import annotations

from typing import Any

import eflows_kernel
from eflows_kernel.client import LocalClient
from eflows_kernel.ui.portal import TITLES, Portal
from tests.ui.conftest import INCREMENT_CHAIN


def test_portal_tabs_and_navigation(client: LocalClient) -> None:
    portal = Portal(client, poll_interval=0.05)
    try:
        assert portal.tabs.titles == TITLES
        assert portal.credentials.client is portal.deploy.client is client
        portal.credentials.gen_name.value = "k"
        key = portal.credentials.generate()
        portal.show("Sites")  # switching reloads: the new key is offered there
        assert portal.sites.credential_picker.value == key.id
        wf = client.workflows.register_python_file(str(INCREMENT_CHAIN), inputs=[
            {"name": "length", "type": "integer"}])
        portal.show("Workflows")
        portal.workflows.select(wf.id)
        portal.workflows.deploy_button.click()
        assert portal.tabs.selected_index == TITLES.index("Deploy")
        assert portal.deploy.workflow.id == wf.id and "length" in portal.deploy.fields
        assert not portal.executions.running
        portal.show("Executions")
        assert portal.executions.running
        portal.show("Credentials")
        assert not portal.executions.running
        portal.show("Executions")
    finally:
        portal.close()
    assert not portal.executions.running


def test_portal_function_uses_connect(client: LocalClient, monkeypatch: Any) -> None:
    monkeypatch.setattr("eflows_kernel.client.connect", lambda: client)
    portal = eflows_kernel.portal()
    assert isinstance(portal, Portal) and portal.client is client
    portal.close()
    assert eflows_kernel.portal(client).client is client


def test_portal_stays_a_function_after_importing_the_ui_package() -> None:
    """Importing ``eflows_kernel.ui`` must not replace ``eflows_kernel.portal``."""
    import types

    import eflows_kernel.ui.portal

    assert isinstance(eflows_kernel.portal, types.FunctionType)


def test_connection_failure_is_shown(monkeypatch: Any) -> None:
    from eflows_kernel.client import ClientError

    def refuse() -> Any:
        raise ClientError("no eflows server configured")

    monkeypatch.setattr("eflows_kernel.client.connect", refuse)
    portal = Portal()
    assert portal.tabs is None and "no eflows server" in portal.message.text
