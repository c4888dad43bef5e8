"""``EflowsClient.sites``: the ``SiteService`` over REST, a site given by its id or name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eflows_kernel.client.transport import Transport
from eflows_kernel.client.transport import quote_segment as _q
from eflows_kernel.services.errors import NotFoundError, ValidationError

# The site models are imported where they are made: they bring paramiko along, which a
# client that never touches a site need not load.


def site_from_dict(data: Mapping[str, Any]) -> Any:
    """A ``sites.Site`` from its JSON form (the REST API's site body)."""
    from eflows_kernel.services.hpc.ssh import HostKey
    from eflows_kernel.services.sites import Site, SiteConfig

    config = SiteConfig.model_validate({k: v for k, v in data.items()
                                        if k in SiteConfig.model_fields})
    key = data.get("host_key")
    return Site(id=data["id"], config=config, host_key=HostKey.from_dict(key) if key else None,
                operator=bool(data.get("operator")))


def check_report_from_dict(data: Mapping[str, Any]) -> Any:
    """A ``sites.CheckReport`` from its JSON form (``ok`` is derived from ``problems``)."""
    from eflows_kernel.services.sites import CheckReport

    return CheckReport(reachable=bool(data.get("reachable")), host_key=data.get("host_key"),
                       presented_fingerprint=data.get("presented_fingerprint"),
                       authenticated=data.get("authenticated"),
                       scheduler=data.get("scheduler"), python=data.get("python"),
                       problems=dict(data.get("problems") or {}))


class RestSites:
    """``SiteService`` over REST. A site is given by its id or by its name.

    Results are the service's models (``Site``, ``HostKey``, ``CheckReport``);
    passwords and one-time codes go in the request body only, never in a URL.
    """

    def __init__(self, transport: Transport) -> None:
        self._http = transport

    def add(self, config: Mapping[str, Any]) -> Any:
        return site_from_dict(self._http.call("POST", "sites", dict(_plain(config))))

    def list(self) -> list[Any]:
        return [site_from_dict(s) for s in self._http.call("GET", "sites")["sites"]]

    def _id(self, site: str) -> str:
        """The id of the site with that id or name (names are resolved via the listing)."""
        if not isinstance(site, str) or not site:
            raise ValidationError(f"a site must be a non-empty id or name, got {site!r}")
        sites = self._http.call("GET", "sites")["sites"]
        for key in ("id", "name"):
            for item in sites:
                if item[key] == site:
                    return item["id"]
        raise NotFoundError(f"no site {site!r} (neither an id nor a name)", id=site)

    def get(self, site: str) -> Any:
        return site_from_dict(self._http.call("GET", f"sites/{_q(self._id(site))}"))

    def update(self, site: str, config: Mapping[str, Any]) -> Any:
        return site_from_dict(self._http.call("PUT", f"sites/{_q(self._id(site))}",
                                              dict(_plain(config))))

    def delete(self, site: str) -> None:
        self._http.call("DELETE", f"sites/{_q(self._id(site))}")

    def scan(self, site: str) -> Any:
        """The host key the site presents now (``HostKey``); stores nothing."""
        from eflows_kernel.services.hpc.ssh import HostKey

        body = self._http.call("POST", f"sites/{_q(self._id(site))}/scan")
        return HostKey.from_dict(body)

    def trust(self, site: str, fingerprint: str) -> Any:
        return site_from_dict(self._http.call("POST", f"sites/{_q(self._id(site))}/trust",
                                              {"fingerprint": fingerprint}))

    def check(self, site: str, credential_id: str) -> Any:
        return check_report_from_dict(self._http.call(
            "POST", f"sites/{_q(self._id(site))}/check", {"credential_id": credential_id}))

    def authorize(self, site: str, credential_id: str, password: str | None = None,
                  otp: str | None = None) -> dict[str, Any]:
        """Install the credential's public key on the site; ``{"added": bool}``."""
        return self._http.call("POST", f"sites/{_q(self._id(site))}/authorize",
                               _secret_body(credential_id, password, otp))

    def revoke(self, site: str, credential_id: str, password: str | None = None,
               otp: str | None = None) -> dict[str, Any]:
        """Remove the credential's line from authorized_keys; ``{"removed": bool}``."""
        return self._http.call("POST", f"sites/{_q(self._id(site))}/revoke",
                               _secret_body(credential_id, password, otp))


def _plain(config: Any) -> Mapping[str, Any]:
    return config.model_dump() if hasattr(config, "model_dump") else config


def _secret_body(credential_id: str, password: str | None, otp: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"credential_id": credential_id}
    if password is not None:
        body["password"] = password
    if otp is not None:
        body["otp"] = otp
    return body


__all__ = ["RestSites", "check_report_from_dict", "site_from_dict"]
