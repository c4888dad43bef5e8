"""The portal: a guided first connection, credentials, sites, workflows, deploy, executions.

One client is shared by every tab; switching to a tab reloads what it lists (so a
key generated in one tab is offered in the next), and the executions list only
polls while its tab is shown, so a portal left open costs nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipywidgets as widgets

from eflows_kernel.client.protocol import Client
from eflows_kernel.ui.common import MessageArea, error_message
from eflows_kernel.ui.connect import ConnectSiteWidget
from eflows_kernel.ui.credentials import CredentialsWidget
from eflows_kernel.ui.deploy import DeployForm
from eflows_kernel.ui.executions import ExecutionsWidget
from eflows_kernel.ui.sites import SitesWidget
from eflows_kernel.ui.workflows import WorkflowsWidget

TITLES = ("Connect", "Credentials", "Sites", "Workflows", "Deploy", "Executions")


class Portal(widgets.VBox):
    """The eFlows4HPC portal. ``client`` defaults to ``eflows_kernel.client.connect()``.

    Sub-widgets are attributes (``credentials``, ``sites``, ``workflows``, ``deploy``,
    ``executions``); ``show(title)`` switches tabs.
    """

    def __init__(self, client: Client | None = None, poll_interval: float = 1.0,
                 memory: Path | None = None) -> None:
        self.message = MessageArea()
        if client is None:
            from eflows_kernel.ui.memory import default_path

            memory = memory or default_path()  # a person's portal: remember their choices
            from eflows_kernel.client import connect

            try:
                client = connect()
            except Exception as exc:  # no server and no local state: say so, no traceback
                self.message.error(f"Cannot connect to the eflows services: "
                                   f"{error_message(exc)}")
                super().__init__([self.message])
                self.client = None
                self.tabs = None
                return
        self.client = client
        self.connect = ConnectSiteWidget(client)
        self.credentials = CredentialsWidget(client)
        self.sites = SitesWidget(client)
        self.workflows = WorkflowsWidget(client, on_deploy=self.deploy_workflow)
        self.deploy = DeployForm(client, on_deployed=self._deployed, memory=memory)
        self.executions = ExecutionsWidget(client, poll_interval=poll_interval, start=False,
                                           on_edit=self.edit_and_rerun)
        self.tabs = widgets.Tab(children=[self.connect, self.credentials, self.sites,
                                          self.workflows, self.deploy, self.executions])
        self.tabs.titles = TITLES
        self.tabs.observe(self._on_tab, names="selected_index")
        where = getattr(client, "url", None) or "this process (no Jupyter server)"
        header = widgets.HTML(f"<b>eFlows4HPC</b> <small>services: {where}</small>")
        super().__init__([header, self.tabs, self.message])

    def show(self, title: str) -> None:
        """Switch to the tab called ``title``."""
        if self.tabs is not None:
            self.tabs.selected_index = TITLES.index(title)

    def _on_tab(self, change: dict[str, Any]) -> None:
        index = change["new"]
        if index is None:
            return
        child = self.tabs.children[index] if self.tabs is not None else None
        if child is self.executions:
            self.executions.refresh()
            self.executions.start()
        else:
            self.executions.stop()
            if child is not None and child is not self.deploy:
                child.refresh()
            elif child is self.deploy:
                self.deploy.refresh()

    def deploy_workflow(self, workflow_id: str) -> None:
        """Open the deploy form on ``workflow_id`` (the Workflows tab's Deploy button)."""
        self.deploy.refresh()
        self.deploy.select_workflow(workflow_id)
        self.show("Deploy")

    def edit_and_rerun(self, execution: Any) -> None:
        """Open the deploy form filled with ``execution``'s workflow, inputs, site and key."""
        self.deploy.refresh()
        self.deploy.prefill(execution)
        self.show("Deploy")

    def _deployed(self, _execution: Any) -> None:
        self.executions.refresh()

    def close(self) -> None:
        """Stop every background thread, then close the widgets."""
        if self.tabs is not None:
            self.executions.close()
            self.deploy.close()
        super().close()
