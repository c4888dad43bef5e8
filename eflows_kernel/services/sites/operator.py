"""Sites the centre's operator declares once, for every user: shown to all, changed by none.

An operator lists the centre's clusters in the server's configuration
(``c.EflowsExtensionApp.sites = [...]`` or a YAML file in a system config directory):
host and port, the host key pinned by the operator (users never have to trust a
fingerprint they cannot check), defaults for partition, qos, account and the Python,
and the login as a template of the hub user (``login_template: "{user}"``, or
``"{user}_hpc"``). Each user's server reads them at start; a user sees them read-only
next to the sites they add themselves (:class:`LayeredSiteRepository`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pydantic
import yaml

from eflows_kernel.services.errors import ServiceError
from eflows_kernel.services.hpc.ssh import HostKey
from eflows_kernel.services.sites.config import SiteConfig, SiteError, SiteExists
from eflows_kernel.services.sites.repository import SiteRepository

OPERATOR_ID_PREFIX = "centre-"  # operator sites' ids: stable across restarts and users
SITES_FILE = "eflows_sites.yaml"  # looked for in the system Jupyter config directories


class SiteReadOnly(ServiceError):
    """The site was set by the centre's operator: users cannot change or remove it (403)."""

    status = 403


def _host_key(value: Any, where: str) -> dict[str, str] | None:
    if value is None:
        return None
    try:
        key = HostKey.from_line(value) if isinstance(value, str) else HostKey.from_dict(value)
    except Exception as error:  # a malformed key: say which site, not a traceback
        raise SiteError(f"{where}: host_key must be a known_hosts-style line "
                        f"('ssh-ed25519 AAAA...') or {{type, base64}} ({error})") from None
    return key.to_dict()


def operator_records(entries: Iterable[Mapping[str, Any]], user: str) -> list[dict[str, Any]]:
    """The operator's sites as site records, with the login of ``user`` (the hub user).

    An operator's mistake fails the server's start naming the entry, rather than
    leaving every user with a site that cannot work.
    """
    records: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise SiteError(f"operator site #{index + 1} must be a mapping of site settings")
        data = dict(entry)
        where = f"operator site #{index + 1} ({data.get('name', 'no name')})"
        host_key = _host_key(data.pop("host_key", None), where)
        template = data.pop("login_template", None)
        if template is not None and "login" not in data:
            try:
                data["login"] = str(template).format(user=user)
            except (KeyError, IndexError, ValueError) as error:
                raise SiteError(f"{where}: login_template may use {{user}} only "
                                f"({error})") from None
        if data.get("connection") != "local":
            data.setdefault("login", user)
        try:
            config = SiteConfig.model_validate(data)
        except pydantic.ValidationError as error:
            raise SiteError(f"{where}: {error}") from None
        if not config.is_local and host_key is None:
            raise SiteError(f"{where}: an operator site needs its host_key pinned (users "
                            "cannot trust it themselves)")
        if any(r["name"] == config.name for r in records):
            raise SiteError(f"{where}: two operator sites are named {config.name!r}")
        records.append({"id": OPERATOR_ID_PREFIX + config.name, "name": config.name,
                        "config": config.model_dump(), "host_key": host_key,
                        "operator": True})
    return records


def load_sites_files(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    """The site entries of the YAML files that exist (``sites: [...]`` or a bare list)."""
    entries: list[dict[str, Any]] = []
    for path in paths:
        file = Path(path)
        if not file.is_file():
            continue
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise SiteError(f"{file}: not a readable YAML file ({error})") from None
        items = data.get("sites", []) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise SiteError(f"{file}: expected 'sites:' with a list of sites")
        entries += items
    return entries


class LayeredSiteRepository:
    """The operator's sites (read-only) over the user's own repository.

    Names are one space: a user cannot add a site named like one of the centre's.
    """

    def __init__(self, operator: Sequence[dict[str, Any]], user: SiteRepository) -> None:
        self.operator = {r["id"]: dict(r) for r in operator}
        self.user = user

    def _operator_by_name(self, name: str) -> dict[str, Any] | None:
        return next((dict(r) for r in self.operator.values() if r["name"] == name), None)

    def _refuse(self, site_id: str, what: str) -> None:
        record = self.operator.get(site_id)
        if record is not None:
            raise SiteReadOnly(f"site {record['name']!r} is set by the centre's operator: it "
                               f"cannot be {what} (add a site of your own instead)",
                               id=site_id)

    def add(self, name: str, config: dict[str, Any]) -> dict[str, Any]:
        if self._operator_by_name(name) is not None:
            raise SiteExists(f"a site named {name!r} is set by the centre's operator; "
                             "choose another name")
        return self.user.add(name, config)

    def get(self, site_id: str) -> dict[str, Any] | None:
        record = self.operator.get(site_id)
        return dict(record) if record is not None else self.user.get(site_id)

    def get_by_name(self, name: str) -> dict[str, Any] | None:
        return self._operator_by_name(name) or self.user.get_by_name(name)

    def list(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.operator.values()] + self.user.list()

    def update(self, site_id: str, config: dict[str, Any] | None = None,
               host_key: Any = ...) -> dict[str, Any]:
        self._refuse(site_id, "changed")
        return self.user.update(site_id, config, host_key=host_key)

    def delete(self, site_id: str) -> Any:
        self._refuse(site_id, "removed")
        return self.user.delete(site_id)


__all__ = ["LayeredSiteRepository", "SiteReadOnly", "load_sites_files", "operator_records"]
