"""What every handler shares: authentication, JSON in and out, service errors as HTTP.

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
from typing import Any, TypeVar

import tornado
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server.utils import url_path_join
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from eflows_extension.identity import caller_of
from eflows_kernel.services.app import Services
from eflows_kernel.services.bounds import TooStrange, parse_json
from eflows_kernel.services.credentials import CredentialNotFound
from eflows_kernel.services.errors import ServiceError, ValidationError
from eflows_kernel.services.executions import Execution
from eflows_kernel.services.workflows.access import Caller

AUTH_RESOURCE = "eflows"
log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
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
        services = self.settings.get("eflows")
        if services is None:  # the installation is broken: say why, as JSON
            reason = self.settings.get("eflows_unavailable", "the services are not running")
            raise ApiError(503, {"message": f"eflows is not available: {reason}. Fix it, "
                                            "then restart the Jupyter server",
                                 "reason": reason})
        return services

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
        self.finish(json.dumps(self.error_body(status_code, body)))

    def error_body(self, status: int, body: dict[str, Any]) -> dict[str, Any]:
        """The JSON of an error answer: ``{"message", "errors": {field: why}, ...}`` here;
        the HPCWaaS routes answer their client's shape instead."""
        return body

    @property
    def caller(self) -> Caller:
        """Who this request acts as: the hub user and groups, else the local identity."""
        return caller_of(self.current_user, self.eflows.local_caller)

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
            data = parse_json(raw)
        except json.JSONDecodeError as exc:
            raise bad_request({"body": f"not valid JSON ({exc.msg} at line {exc.lineno} "
                                       f"column {exc.colno})"}) from None
        except UnicodeDecodeError:
            raise bad_request({"body": "not valid UTF-8 JSON"}) from None
        except TooStrange as exc:
            raise bad_request({exc.field(): str(exc)}) from None
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

    async def start_execution(self, workflow_id: str, inputs: dict[str, Any],
                              site: str | dict[str, str],
                              credential_id: str | None, login: str | None = None,
                              password: str | None = None, otp: str | None = None,
                              field_names: Mapping[str, str] | None = None) -> Execution:
        """Submit a run of a registered workflow on ``site`` ("local" or a configured site).

        Off the event loop: checking the inputs stats local files, and starting a run
        opens its folder and may wait for the site's connection.

        A refusal names each faulty field in ``errors`` as this API spells it: inputs as
        ``inputs.<name>``, the others as in the body (``field_names`` renames them, for
        APIs that carry the credential or login elsewhere).
        """
        caller = self.caller

        def submit() -> Execution:  # a granted published workflow is pinned first
            runnable = self.eflows.catalogue.runnable(workflow_id, caller)
            return self.eflows.executions.submit(runnable, inputs, site, credential_id,
                                                 login=login, password=password,
                                                 one_time_code=otp)

        try:
            return await in_thread(submit)
        except ValidationError as exc:
            fields = exc.details.get("fields")
            if isinstance(fields, dict) and fields:
                top = {"site": "site", "credential_id": "credential_id", "login": "login",
                       **(field_names or {})}
                errors = {top.get(name, name if name.startswith(_FIELD_PATHS)
                                  else f"inputs.{name}"): str(msg)
                          for name, msg in fields.items()}
                raise ApiError(400, {**exc.to_dict(), "errors": errors}) from None
            raise

    async def read_logs(self, execution_id: str, offset: int,
                        size: int | None, step: str | None = None) -> tuple[str, int]:
        """Off the event loop: a remote run's log is read from its site over SSH."""
        return await in_thread(functools.partial(self.eflows.executions.logs, execution_id,
                                                 offset=offset, size=size, step=step))


# Fields a refusal names by their path in the workflow, not as an input.
_FIELD_PATHS = ("steps.", "data_movements.")


def execution_json(execution: Execution) -> dict[str, Any]:
    body = execution.model_dump(mode="json")
    body["status"] = execution.hpcwaas_status.value
    body["finished"] = execution.finished
    body["sites"] = execution.sites  # a step graph: every site ("site" is its first step's)
    return body


__all__ = ["ApiError", "EflowsAPIHandler", "bad_request", "execution_json", "in_thread",
           "translated"]
