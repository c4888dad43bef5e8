"""The eFlows4HPC portal in Jupyter: ipywidgets for credentials, sites, workflows and runs.

Every widget takes a client (``eflows_kernel.client.connect()``: the Jupyter
server's REST API, or the services in this process) and works the same with
either; :class:`~eflows_kernel.portal.portal.Portal` puts them in tabs.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallablePackage(types.ModuleType):
    """Keeps ``eflows_kernel.portal(client)`` working once this package is imported.

    Importing ``eflows_kernel.portal.<module>`` makes Python set the attribute
    ``eflows_kernel.portal`` to this package, replacing the ``portal()`` function
    defined there; calling the package does what that function does.
    """

    def __call__(self, client: Any = None) -> Any:
        """The eFlows4HPC portal widget (see ``eflows_kernel.portal()``)."""
        from eflows_kernel.portal.portal import Portal

        return Portal(client)


sys.modules[__name__].__class__ = _CallablePackage
