"""The native REST API (``eflows/api``): status, workflows, credentials, executions.

Each method is ``@tornado.web.authenticated`` then ``@authorized`` then ``@translated``,
and one service call: HTTP in, JSON out.
"""

from __future__ import annotations

import dataclasses
import functools

import tornado
from jupyter_server.auth.decorator import authorized

from eflows_extension.handlers.base import (
    EflowsAPIHandler,
    bad_request,
    execution_json,
    in_thread,
    translated,
)
from eflows_extension.models import (
    ExecuteBody,
    GenerateKeyBody,
    ImportKeyBody,
    ImportWorkflowsBody,
)
from eflows_extension.openapi import openapi_document
from eflows_kernel.about import __version__
from eflows_kernel.services.workflows.spec_schema import workflow_spec_schema


class StatusHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self) -> None:
        self.reply({
            "version": __version__,
            "default_engine": self.extensionapp.default_engine,
            "executor_started": self.eflows.executor_started,
        })


class WorkflowsHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self) -> None:
        limit, offset = self.page_args()
        name = self.get_query_argument("name", None) or None
        page = self.eflows.catalogue.list(self.caller, name=name, limit=limit,
                                          offset=offset)
        self.reply({"items": page.items, "total": page.total,
                    "limit": page.limit, "offset": page.offset})

    @tornado.web.authenticated
    @authorized
    @translated
    async def post(self) -> None:
        spec = self.json_body()
        if not isinstance(spec.get("inputs", []), list | dict | None):
            # (workflow_from_spec raises TypeError on this one instead of its own error)
            raise bad_request({"inputs": "must be a list of inputs or a mapping of name to "
                                         "input"}, "invalid workflow spec")
        registered = await in_thread(self.eflows.catalogue.register_spec, spec, self.caller)
        self.reply(registered.model_dump(mode="json"), 201,
                   self.api_url("workflows", registered.id))


class WorkflowSpecSchemaHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self) -> None:
        self.reply(workflow_spec_schema())


class WorkflowImportHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    async def post(self) -> None:
        body = self.parse(ImportWorkflowsBody)  # a folder scan and YAML: off the event loop
        report = await in_thread(self.eflows.catalogue.import_registry_folder, body.path,
                                 self.caller)
        self.reply({"registered": [w.summary() for w in report.registered],
                    "warnings": report.warnings, "refused": report.refused},
                   201 if report.registered else 200)


class WorkflowHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self, workflow_id: str) -> None:
        workflow = self.eflows.catalogue.get(workflow_id, self.caller)
        self.reply({**workflow.model_dump(mode="json"), "read_only": workflow.published})

    @tornado.web.authenticated
    @authorized
    @translated
    def delete(self, workflow_id: str) -> None:
        self.eflows.catalogue.delete(workflow_id, self.caller)
        self.set_status(204)
        self.finish()


class CredentialsHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self) -> None:
        self.reply({"items": [c.to_dict() for c in self.eflows.vault.list()]})

    @tornado.web.authenticated
    @authorized
    @translated
    async def post(self) -> None:
        body = self.parse(GenerateKeyBody)
        info = await in_thread(functools.partial(
            self.eflows.vault.generate, body.name, body.kind, body.bits, body.comment,
            metadata=body.metadata))
        self.reply(info.to_dict(), 201, self.api_url("credentials", info.id))


class CredentialImportHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    async def post(self) -> None:
        body = self.parse(ImportKeyBody)  # a passphrase's KDF rounds are the sender's choice
        info = await in_thread(self.eflows.vault.import_key, body.name, body.private_key,
                               body.passphrase, body.certificate, body.comment)
        self.reply(info.to_dict(), 201, self.api_url("credentials", info.id))


class CredentialHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self, credential_id: str) -> None:
        self.reply(self.eflows.vault.get(credential_id).to_dict())

    @tornado.web.authenticated
    @authorized
    @translated
    def delete(self, credential_id: str) -> None:
        self.eflows.vault.delete(credential_id)
        self.set_status(204)
        self.finish()


class WorkflowExecutionsHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    async def post(self, workflow_id: str) -> None:
        body = self.parse(ExecuteBody)
        execution = await self.start_execution(workflow_id, body.inputs, body.site,
                                         body.credential_id, login=body.login,
                                         password=body.password, otp=body.otp)
        self.reply(execution_json(execution), 201, self.api_url("executions", execution.id))


class ExecutionsHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self) -> None:
        limit, offset = self.page_args()
        states = [s for s in self.get_query_arguments("state") if s] or None
        page = self.eflows.executions.list(
            state=states, workflow_id=self.get_query_argument("workflow_id", None) or None,
            site=self.get_query_argument("site", None) or None, limit=limit, offset=offset)
        self.reply({"items": [execution_json(e) for e in page.items], "total": page.total,
                    "limit": page.limit, "offset": page.offset})


class ExecutionHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self, execution_id: str) -> None:
        self.reply(execution_json(self.eflows.executions.get(execution_id)))

    @tornado.web.authenticated
    @authorized
    @translated
    def delete(self, execution_id: str) -> None:
        self.reply(execution_json(self.eflows.executions.cancel(execution_id)), 202)


class ExecutionLogsHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    async def get(self, execution_id: str) -> None:
        offset = self.int_arg("offset", 0)
        size = self.int_arg("size", None, minimum=1)
        assert offset is not None
        step = self.get_query_argument("step", None) or None
        text, next_offset = await self.read_logs(execution_id, offset, size, step)
        self.reply({"id": execution_id, "offset": offset, "next_offset": next_offset,
                    "text": text})


class ExecutionStepsHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self, execution_id: str) -> None:
        steps = self.eflows.executions.steps(execution_id)
        self.reply({"items": [dataclasses.asdict(s) for s in steps]})


class ExecutionEventsHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self, execution_id: str) -> None:
        from_seq = self.int_arg("from_seq", 0)
        self.reply(self.eflows.executions.events(execution_id, from_seq=from_seq))


class OpenAPIHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    def get(self) -> None:
        self.reply(openapi_document(self.base_url))
