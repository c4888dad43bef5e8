"""One client interface, two backends: a Jupyter server's REST API, or this process.

``connect()`` picks one: explicit ``url`` (and ``token``), else ``$EFLOWS_URL``/
``$EFLOWS_TOKEN`` (which a Jupyter server with the extension sets for the
kernels it starts), else the config file (``~/.config/eflows/config.toml``),
else a ``LocalClient`` on this account's state. Widgets and scripts take
whatever ``connect()`` returns and work the same either way.
"""

from __future__ import annotations

from typing import Any

from eflows_kernel.client.config import Settings, config_path, resolve
from eflows_kernel.client.errors import ClientError
from eflows_kernel.client.local import LocalClient
from eflows_kernel.client.protocol import Client
from eflows_kernel.client.rest import EflowsClient, split_url


def connect(url: str | None = None, token: str | None = None, *, local: bool | None = None,
            verify: bool = True, timeout: float = 30.0,
            **local_options: Any) -> Client:
    """A client for the services: a server if one is configured, else in-process.

    ``local=True`` forces a ``LocalClient``; ``local=False`` refuses to fall back
    to one (raises ``ClientError`` when no server is configured).
    """
    if local:
        return LocalClient(**local_options)
    settings = resolve(url, token)
    if settings.url:
        return EflowsClient(settings.url, settings.token, verify=verify, timeout=timeout)
    if local is False:
        raise ClientError("no eflows server configured: give --url, set $EFLOWS_URL or "
                          f"write url = \"...\" in {config_path()}")
    return LocalClient(**local_options)


__all__ = ["Client", "ClientError", "EflowsClient", "LocalClient", "Settings", "config_path",
           "connect", "resolve", "split_url"]
