"""Where the client finds its server: option, environment, config file, in that order.

The order is the usual one for command-line tools (an explicit option always
wins; the environment of a session beats a file written once), and it is the
one eFlows4HPC's ``waas`` users expect. A Jupyter server with the extension
exports ``EFLOWS_URL``/``EFLOWS_TOKEN`` to the kernels it starts, so code in a
notebook finds its own server through the environment step.
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

    def pick(value: str | None, env_var: str, key: str) -> tuple[str | None, str]:
        if value:
            return value, "option"
        if env.get(env_var):
            return env[env_var], f"${env_var}"
        if from_file().get(key):
            return from_file()[key], str(config_file or config_path(env))
        return None, "none"

    resolved_url, url_source = pick(url, URL_ENV, "url")
    resolved_token, token_source = pick(token, TOKEN_ENV, "token")
    return Settings(resolved_url, resolved_token, url_source, token_source)
