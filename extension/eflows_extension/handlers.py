"""HTTP handlers: translate requests to service calls and back, nothing more.

Every method is ``@tornado.web.authenticated`` then ``@authorized`` (resource
``eflows``), then ``@translated``, which turns service errors into JSON error
responses with their status (``ServiceError.status``; vault errors 400/404).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, TypeVar

import tornado
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server.utils import url_path_join
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from tornado.iostream import StreamClosedError

from eflows_kernel.about import __version__
from eflows_kernel.services.app import Services
from eflows_kernel.services.credentials import CredentialNotFound
from eflows_kernel.services.errors import (
    ServiceError,
    ValidationError,
)
from eflows_kernel.services.executions import Execution

AUTH_RESOURCE = "eflows"
log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
LOCAL_SITE = "local"
MAX_INT = 2**53  # query integers (offsets, sizes) past this are mistakes, not data


class ApiError(tornado.web.HTTPError):
    """An error answered as JSON ``body`` with ``status`` (logged without a traceback)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.body = body


def service_error(exc: ServiceError) -> ApiError:
    """The HTTP form of an error a service raised: its status and its JSON body."""
    if exc.status >= 500:  # the installation or a site failed, not the request
        log.error("eflows: %s", exc.message)
    return ApiError(exc.status, exc.to_dict())


def translated(method: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Run a handler method, answering service errors as JSON with their status."""

    @functools.wraps(method)
    async def wrapper(self: EflowsAPIHandler, *args: Any, **kwargs: Any) -> Any:
        try:
            result = method(self, *args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result
        except ServiceError as exc:
            raise service_error(exc) from None

    return wrapper


async def in_thread(function: Callable[..., Any], *args: Any) -> Any:
    """Run CPU-bound service work (key generation) off the server's event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


def _field_errors(exc: PydanticValidationError) -> dict[str, str]:
    # include_input=False: a rejected value (a private key!) is never echoed back.
    errors: dict[str, str] = {}
    for item in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "body"
        errors.setdefault(where, item["msg"])
    return errors


def bad_request(errors: dict[str, str], what: str = "invalid request") -> ApiError:
    text = "; ".join(f"{field}: {msg}" for field, msg in errors.items())
    return ApiError(400, {"message": f"{what}: {text}", "errors": errors})


class EflowsAPIHandler(ExtensionHandlerMixin, APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def eflows(self) -> Services:
        return self.settings["eflows"]

    # ---- responses ---------------------------------------------------------------------

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ApiError):
            body = exc.body
        elif isinstance(exc, tornado.web.HTTPError):
            message = exc.log_message % exc.args if exc.log_message else self._reason
            body = {"message": message}
        else:  # a bug: say so without leaking internals (the log has the traceback)
            body = {"message": f"internal server error ({type(exc).__name__})"
                    if exc is not None else self._reason}
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def reply(self, body: Any, status: int = 200, location: str | None = None) -> None:
        self.set_status(status)
        if location is not None:
            self.set_header("Location", location)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, default=str))

    def api_url(self, *parts: str) -> str:
        return url_path_join(self.base_url, "eflows", "api", *parts)

    # ---- requests ----------------------------------------------------------------------

    def json_body(self, allow_empty: bool = False) -> dict[str, Any]:
        raw = self.request.body
        if not raw.strip():
            if allow_empty:
                return {}
            raise bad_request({"body": "a JSON object is required"})
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise bad_request({"body": f"not valid JSON ({exc.msg} at line {exc.lineno} "
                                       f"column {exc.colno})"}) from None
        except UnicodeDecodeError:
            raise bad_request({"body": "not valid UTF-8 JSON"}) from None
        if not isinstance(data, dict):
            raise bad_request({"body": f"a JSON object is required, got {type(data).__name__}"})
        return data

    def parse(self, model: type[M], allow_empty: bool = False) -> M:
        data = self.json_body(allow_empty)
        try:
            return model.model_validate(data)
        except PydanticValidationError as exc:
            raise bad_request(_field_errors(exc), "invalid request body") from None

    def int_arg(self, name: str, default: int | None, minimum: int = 0,
                maximum: int = MAX_INT) -> int | None:
        value = self.get_query_argument(name, None)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            raise bad_request({name: f"must be an integer, got {value[:40]!r}"},
                              "invalid query") from None
        if not minimum <= number <= maximum:
            raise bad_request({name: f"must be an integer from {minimum} to {maximum}"},
                              "invalid query")
        return number

    def page_args(self) -> tuple[int, int]:
        limit = self.int_arg("limit", 50, minimum=1, maximum=1000)
        offset = self.int_arg("offset", 0, minimum=0)
        assert limit is not None and offset is not None
        return limit, offset

    # ---- shared service calls ----------------------------------------------------------

    def check_credential(self, credential_id: str | None, field: str) -> None:
        if credential_id is None:
            return
        try:
            self.eflows.vault.get(credential_id)
        except CredentialNotFound:
            raise bad_request({field: f"no credential with id {credential_id!r}"}) from None

    def start_execution(self, workflow_id: str, inputs: dict[str, Any], site: str,
                        credential_id: str | None, login: str | None = None,
                        password: str | None = None, otp: str | None = None,
                        field_names: Mapping[str, str] | None = None) -> Execution:
        """Submit a run of a registered workflow on ``site`` ("local" or a configured site).

        A refusal names each faulty field in ``errors`` as this API spells it: inputs as
        ``inputs.<name>``, the others as in the body (``field_names`` renames them, for
        APIs that carry the credential or login elsewhere).
        """
        try:
            return self.eflows.executions.submit(workflow_id, inputs, site, credential_id,
                                                 login=login, password=password,
                                                 one_time_code=otp)
        except ValidationError as exc:
            fields = exc.details.get("fields")
            if isinstance(fields, dict) and fields:
                top = {"site": "site", "credential_id": "credential_id", "login": "login",
                       **(field_names or {})}
                errors = {top.get(name, f"inputs.{name}"): str(msg)
                          for name, msg in fields.items()}
                raise ApiError(400, {**exc.to_dict(), "errors": errors}) from None
            raise

    async def read_logs(self, execution_id: str, offset: int,
                        size: int | None) -> tuple[str, int]:
        """Off the event loop: a remote run's log is read from its site over SSH."""
        return await in_thread(functools.partial(self.eflows.executions.logs, execution_id,
                                                 offset=offset, size=size))


def execution_json(execution: Execution) -> dict[str, Any]:
    body = execution.model_dump(mode="json")
    body["status"] = execution.hpcwaas_status.value
    body["finished"] = execution.finished
    return body


# ---- request bodies ----------------------------------------------------------------------

class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImportWorkflowsBody(_Body):
    path: str = Field(min_length=1, description="a folder of an eFlows4HPC workflow registry")


class GenerateKeyBody(_Body):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["ed25519", "rsa"] = "ed25519"
    bits: int | None = Field(default=None, ge=2048, le=8192,
                             description="RSA only (default 4096)")
    comment: str | None = Field(default=None, max_length=200)


class ImportKeyBody(_Body):
    name: str = Field(min_length=1, max_length=200)
    private_key: str = Field(min_length=1)
    passphrase: str | None = None
    certificate: str | None = None
    comment: str | None = Field(default=None, max_length=200)


class ExecuteBody(_Body):
    inputs: dict[str, Any] = Field(default_factory=dict)
    site: str = Field(default=LOCAL_SITE, min_length=1)
    credential_id: str | None = None
    login: str | None = Field(default=None, min_length=1, max_length=200,
                              description="the account on the site (default: the site's)")
    password: str | None = Field(default=None, max_length=1024,
                                 description="for a site login that asks for it: opens the "
                                             "site's connection once, never stored")
    otp: str | None = Field(default=None, max_length=64,
                            description="one-time code for a site login that asks for one")


# ---- native API ----------------------------------------------------------------------

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
        page = self.eflows.registry.list(name=name, limit=limit, offset=offset)
        self.reply({"items": [w.summary() for w in page.items], "total": page.total,
                    "limit": page.limit, "offset": page.offset})

    @tornado.web.authenticated
    @authorized
    @translated
    def post(self) -> None:
        spec = self.json_body()
        if not isinstance(spec.get("inputs", []), list | dict | None):
            # (workflow_from_spec raises TypeError on this one instead of its own error)
            raise bad_request({"inputs": "must be a list of inputs or a mapping of name to "
                                         "input"}, "invalid workflow spec")
        registered = self.eflows.registry.register_spec(spec)
        self.reply(registered.model_dump(mode="json"), 201,
                   self.api_url("workflows", registered.id))


class WorkflowImportHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def post(self) -> None:
        body = self.parse(ImportWorkflowsBody)
        report = self.eflows.registry.import_registry_folder(body.path)
        self.reply({"registered": [w.summary() for w in report.registered],
                    "warnings": report.warnings}, 201 if report.registered else 200)


class WorkflowHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self, workflow_id: str) -> None:
        self.reply(self.eflows.registry.get(workflow_id).model_dump(mode="json"))

    @tornado.web.authenticated
    @authorized
    @translated
    def delete(self, workflow_id: str) -> None:
        self.eflows.registry.delete(workflow_id)
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
        info = await in_thread(self.eflows.vault.generate, body.name, body.kind, body.bits,
                               body.comment)
        self.reply(info.to_dict(), 201, self.api_url("credentials", info.id))


class CredentialImportHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def post(self) -> None:
        body = self.parse(ImportKeyBody)
        info = self.eflows.vault.import_key(body.name, body.private_key, body.passphrase,
                                            body.certificate, body.comment)
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
    def post(self, workflow_id: str) -> None:
        body = self.parse(ExecuteBody)
        execution = self.start_execution(workflow_id, body.inputs, body.site,
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
        text, next_offset = await self.read_logs(execution_id, offset, size)
        self.reply({"id": execution_id, "offset": offset, "next_offset": next_offset,
                    "text": text})


class ExecutionEventsHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self, execution_id: str) -> None:
        from_seq = self.int_arg("from_seq", 0)
        self.reply(self.eflows.executions.events(execution_id, from_seq=from_seq))


class ExecutionEventStreamHandler(EflowsAPIHandler):
    """Server-sent events: every event after ``from_seq`` (or ``Last-Event-ID``), live.

    The stream ends once the execution is finished and every event was sent.
    """

    poll_interval = 0.05  # a stat and the new bytes of a local file: cheap, and it is the
    keepalive = 15.0      # latency a person watching a graph feels

    @tornado.web.authenticated
    @authorized
    @translated
    async def get(self, execution_id: str) -> None:
        from_seq = self.int_arg("from_seq", 0)
        assert from_seq is not None
        last = self.request.headers.get("Last-Event-ID")
        if last:
            try:
                from_seq = int(last)
            except ValueError:
                raise bad_request({"Last-Event-ID": "must be an integer"}) from None
        follower = self.eflows.executions.follower(execution_id, from_seq)  # 404 first
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        idle = 0.0
        try:
            while True:
                events = await in_thread(follower.poll)  # only the bytes appended since
                for event in events:
                    seq = event.get("seq")
                    head = f"id: {seq}\n" if seq is not None else ""
                    kind = event.get("type")
                    head += f"event: {kind}\n" if isinstance(kind, str) and kind else ""
                    self.write(f"{head}data: {json.dumps(event, default=str)}\n\n")
                if events:
                    idle = 0.0
                    await self.flush()
                elif follower.done:
                    break
                else:
                    idle += self.poll_interval
                    if idle >= self.keepalive:
                        idle = 0.0
                        self.write(": keep-alive\n\n")
                        await self.flush()
                await asyncio.sleep(self.poll_interval)
        except StreamClosedError:
            return
        self.finish()


class OpenAPIHandler(EflowsAPIHandler):
    @tornado.web.authenticated
    @authorized
    def get(self) -> None:
        from eflows_extension.openapi import openapi_document

        self.reply(openapi_document(self.base_url))


__all__ = ["ApiError", "EflowsAPIHandler", "ValidationError"]
