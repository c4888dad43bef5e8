"""Who a request acts as, read from jupyter_server's identity of the request.

Under JupyterHub the single-user server's identity provider hands each handler a
``JupyterHubUser`` whose ``hub_user`` is the hub's user model (``name``, and
``groups`` when the hub shares them with the server). Without a hub, jupyter_server's
user is an anonymous name made per browser, which means nothing to an operator's
grants: the request then acts as the configured local identity
(``EflowsExtensionApp.local_user`` / ``local_groups``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eflows_kernel.services.workflows.access import Caller


def caller_of(user: Any, local: Caller) -> Caller:
    """The caller of a request whose ``current_user`` is ``user``."""
    hub_user = getattr(user, "hub_user", None)
    if isinstance(hub_user, Mapping) and isinstance(hub_user.get("name"), str) \
            and hub_user["name"]:
        groups = hub_user.get("groups") or ()
        return Caller.of(hub_user["name"], [g for g in groups if isinstance(g, str)])
    return local


__all__ = ["caller_of"]
