"""Where the client finds its server: option, environment, config file, in that order.

The order is the usual one for command-line tools (an explicit option always
wins; the environment of a session beats a file written once), and it is the
one eFlows4HPC's ``waas`` users expect. A Jupyter server with the extension
exports ``EFLOWS_URL``/``EFLOWS_TOKEN`` to the kernels it starts, so code in a
notebook finds its own server through the environment step. A process that has only
JupyterHub's environment (a server spawned by the hub and not exporting ours, a job
started from it with the server's environment) finds the server through the hub's
variables: ``JUPYTERHUB_SERVICE_URL`` (where the single-user server listens, its
``/user/<name>/`` prefix included) and ``JUPYTERHUB_API_TOKEN`` (the token the hub
gave that server, which the server accepts).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eflows_kernel.client.errors import ClientError

URL_ENV = "EFLOWS_URL"
TOKEN_ENV = "EFLOWS_TOKEN"
CONFIG_ENV = "EFLOWS_CONFIG"
HUB_URL_ENV = "JUPYTERHUB_SERVICE_URL"
HUB_TOKEN_ENV = "JUPYTERHUB_API_TOKEN"
_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]", "": "127.0.0.1"}


def hub_server_url(environ: dict[str, str]) -> str | None:
    """The hub-spawned server's own URL from JupyterHub's environment, or None.

    The server listens on every address (``0.0.0.0``, batchspawner's default); a client
    on the same host reaches it on loopback. JupyterHub before 2.0 set only the prefix
    (``JUPYTERHUB_SERVICE_PREFIX``), without the port: not enough to connect, so None.
    """
    from urllib.parse import urlsplit, urlunsplit

    url = environ.get(HUB_URL_ENV, "")
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    bracketed = f"[{host}]" if ":" in host else host
    host = _ANY_ADDRESS.get(bracketed, bracketed)
    netloc = f"{host}:{parts.port}" if parts.port else host
    prefix = environ.get("JUPYTERHUB_SERVICE_PREFIX") or parts.path or "/"
    return urlunsplit((parts.scheme or "http", netloc, prefix, "", ""))


def config_path(environ: dict[str, str] | None = None) -> Path:
    """``$EFLOWS_CONFIG``, else ``$XDG_CONFIG_HOME/eflows/config.toml`` (``~/.config``)."""
    env = os.environ if environ is None else environ
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "eflows" / "config.toml"


def _loads_toml(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found,no-redef]
    return tomllib.loads(text)


def read_config(path: Path) -> dict[str, str]:
    """The ``url``/``token`` keys of the config file ({} when there is no file).

    A file that exists but cannot be read is an error, not silently ignored: the
    user wrote it on purpose and would otherwise wonder why it has no effect.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ClientError(f"cannot read the config file {path}: {exc.strerror}") from None
    try:
        data = _loads_toml(text)
    except ValueError as exc:
        raise ClientError(f"the config file {path} is not valid TOML: {exc}") from None
    section = data.get("eflows", data)  # [eflows] table or top-level keys
    return {key: str(section[key]) for key in ("url", "token")
            if isinstance(section, dict) and section.get(key) not in (None, "")}


@dataclass(frozen=True)
class Settings:
    """The resolved server address and token, and where each came from (for messages)."""

    url: str | None
    token: str | None
    url_source: str = "none"
    token_source: str = "none"


def resolve(url: str | None = None, token: str | None = None, *,
            environ: dict[str, str] | None = None,
            config_file: Path | None = None) -> Settings:
    """Resolve url and token: explicit value, then environment, then config file."""
    env = dict(os.environ) if environ is None else environ
    file_values: dict[str, str] | None = None

    def from_file() -> dict[str, str]:
        nonlocal file_values
        if file_values is None:
            file_values = read_config(config_file or config_path(env))
        return file_values

    def pick(value: str | None, env_var: str, key: str,
             hub_value: str | None) -> tuple[str | None, str]:
        if value:
            return value, "option"
        if env.get(env_var):
            return env[env_var], f"${env_var}"
        if hub_value:
            return hub_value, f"${HUB_URL_ENV if key == 'url' else HUB_TOKEN_ENV}"
        if from_file().get(key):
            return from_file()[key], str(config_file or config_path(env))
        return None, "none"

    # JupyterHub's variables speak for the hub-spawned server only together: its token
    # is no use for a server named elsewhere ($EFLOWS_URL or the file).
    hub_url = hub_server_url(env)
    resolved_url, url_source = pick(url, URL_ENV, "url", hub_url)
    hub_token = env.get(HUB_TOKEN_ENV) if url_source == f"${HUB_URL_ENV}" else None
    resolved_token, token_source = pick(token, TOKEN_ENV, "token", hub_token)
    return Settings(resolved_url, resolved_token, url_source, token_source)
