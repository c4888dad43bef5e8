"""HPC sites over HTTP: records, host-key pinning, connection checks, key authorization.

SSH work (scan, trust, check, authorize, revoke) blocks, so it runs off the event loop.
Passwords and one-time codes arrive in request bodies, go straight to the SSH
handshake, and are neither stored, logged nor echoed.
"""

from __future__ import annotations

from typing import Any

import tornado
from jupyter_server.auth.decorator import authorized

from eflows_extension.handlers.base import EflowsAPIHandler, in_thread, translated
from eflows_extension.models import AuthorizeBody, CheckBody, TrustBody
from eflows_kernel.services.sites import SiteConfig


class SitesHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self) -> None:
        self.reply({"sites": [site.to_dict() for site in self.eflows.site_service.list()]})

    @tornado.web.authenticated
    @authorized
    @translated
    def post(self) -> None:
        config = self.parse(SiteConfig)
        site = self.eflows.site_service.add(config)
        self.reply(site.to_dict(), 201, self.api_url("sites", site.id))


class SiteHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self, site_id: str) -> None:
        self.reply(self.eflows.site_service.get(site_id).to_dict())

    @tornado.web.authenticated
    @authorized
    @translated
    def put(self, site_id: str) -> None:
        config = self.parse(SiteConfig)
        self.reply(self.eflows.site_service.update(site_id, config).to_dict())

    @tornado.web.authenticated
    @authorized
    @translated
    def delete(self, site_id: str) -> None:
        self.eflows.site_service.delete(site_id)
        self.set_status(204)
        self.finish()


class SiteScanHandler(EflowsAPIHandler):
    """The first connection: show the host key's fingerprint, store nothing."""

    @tornado.web.authenticated
    @authorized
    @translated
    async def post(self, site_id: str) -> None:
        key = await in_thread(self.eflows.site_service.scan, site_id)
        self.reply({**key.to_dict(), "trusted": False,
                    "next": "confirm the fingerprint with the site's administrators, then "
                            "POST it to .../trust"})


class SiteTrustHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    async def post(self, site_id: str) -> None:
        body = self.parse(TrustBody)
        site = await in_thread(self.eflows.site_service.trust, site_id, body.fingerprint)
        self.reply(site.to_dict())


class SiteCheckHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    async def post(self, site_id: str) -> None:
        body = self.parse(CheckBody)
        self.check_credential(body.credential_id, "credential_id")
        report = await in_thread(self.eflows.site_service.check, site_id, body.credential_id)
        self.reply(report.to_dict())


class _KeyOnSiteHandler(EflowsAPIHandler):
    """POST {credential_id, password?, otp?}: one SSH login, then ``action`` on the site."""

    action = ""  # the SiteService method: "authorize" or "revoke"

    @tornado.web.authenticated
    @authorized
    @translated
    async def post(self, site_id: str) -> None:
        body = self.parse(AuthorizeBody)
        self.check_credential(body.credential_id, "credential_id")
        self.reply(await in_thread(self._run, site_id, body))

    def _run(self, site_id: str, body: AuthorizeBody) -> dict[str, Any]:
        otp = (lambda _prompt: body.otp or "") if body.otp else None
        method = getattr(self.eflows.site_service, self.action)
        return method(site_id, body.credential_id, password=body.password, otp=otp)


class SiteAuthorizeHandler(_KeyOnSiteHandler):
    """Install a credential's public key on the site, as ``ssh-copy-id`` does."""

    action = "authorize"


class SiteRevokeHandler(_KeyOnSiteHandler):
    """Remove exactly that credential's line from the site's ``authorized_keys``."""

    action = "revoke"
