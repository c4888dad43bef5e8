"""The ``ExtensionApp``: configuration (traitlets) and route table.

Handlers stay thin (HTTP in, service call, JSON out); the services live in
``eflows_kernel`` and run without a server.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Unicode

from eflows_extension.handlers import StatusHandler


class EflowsExtensionApp(ExtensionApp):
    name = "eflows_extension"
    extension_url = "/lab"
    load_other_extensions = True

    default_engine = Unicode(
        "local",
        help="Where workflows run when no site is chosen: 'local' (a Dask cluster "
             "on the Jupyter host).",
    ).tag(config=True)

    def initialize_handlers(self) -> None:
        self.handlers.extend(self.route_table())

    @staticmethod
    def route_table() -> list[tuple[str, Any]]:
        """Every route of the extension (tests check each is authenticated)."""
        return [(r"/eflows/api/status", StatusHandler)]
