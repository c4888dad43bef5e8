"""Data logistics over HTTP: logins to data services, and periodic transfers.

A login's secret arrives in the request body, goes to the vault encrypted, and is never
part of a reply; a schedule is checked when made (a 400 names the field) and shows its
last and next run.
"""

from __future__ import annotations

import tornado
from jupyter_server.auth.decorator import authorized

from eflows_extension.handlers.base import EflowsAPIHandler, translated
from eflows_extension.models import ServiceCredentialBody
from eflows_kernel.services.transfers import ScheduleSpec


class DataCredentialsHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self) -> None:
        logins = self.eflows.service_credentials.list()
        self.reply({"items": [c.to_dict() for c in logins]})

    @tornado.web.authenticated
    @authorized
    @translated
    def post(self) -> None:
        body = self.parse(ServiceCredentialBody)
        info = self.eflows.service_credentials.add(
            body.name, body.kind, body.url, username=body.username, secret=body.secret,
            token=body.token, options=body.options)
        self.reply(info.to_dict(), 201, self.api_url("data-credentials", info.id))


class DataCredentialHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self, credential_id: str) -> None:
        self.reply(self.eflows.service_credentials.get(credential_id).to_dict())

    @tornado.web.authenticated
    @authorized
    @translated
    def delete(self, credential_id: str) -> None:
        self.eflows.service_credentials.delete(credential_id)
        self.set_status(204)
        self.finish()


class TransfersHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self) -> None:
        execution = self.get_query_argument("execution_id", None)
        schedules = self.eflows.transfers.list(execution)
        self.reply({"items": [s.to_dict() for s in schedules]})

    @tornado.web.authenticated
    @authorized
    @translated
    def post(self) -> None:
        spec = self.parse(ScheduleSpec)
        schedule = self.eflows.transfers.add(spec)
        self.reply(schedule.to_dict(), 201, self.api_url("transfers", schedule.id))


class TransferHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self, schedule_id: str) -> None:
        self.reply(self.eflows.transfers.get(schedule_id).to_dict())

    @tornado.web.authenticated
    @authorized
    @translated
    def delete(self, schedule_id: str) -> None:
        self.eflows.transfers.delete(schedule_id)
        self.set_status(204)
        self.finish()


class TransferPauseHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def post(self, schedule_id: str) -> None:
        self.reply(self.eflows.transfers.pause(schedule_id).to_dict())


class TransferResumeHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def post(self, schedule_id: str) -> None:
        self.reply(self.eflows.transfers.resume(schedule_id).to_dict())
