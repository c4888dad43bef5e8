"""HTTP handlers: translate requests to service calls and back, nothing more."""

from __future__ import annotations

import json

import tornado
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin

import eflows_kernel

AUTH_RESOURCE = "eflows"


class EflowsAPIHandler(ExtensionHandlerMixin, APIHandler):
    auth_resource = AUTH_RESOURCE


class StatusHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    def get(self) -> None:
        self.finish(json.dumps({
            "version": eflows_kernel.__version__,
            "default_engine": self.extensionapp.default_engine,
        }))
