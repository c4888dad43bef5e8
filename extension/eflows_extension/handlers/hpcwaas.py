"""The eFlows4HPC "HPCWaaS" Execution API, as a compatible route set over the same services.

Shapes follow the published contract (see DESIGN.md): ``GET /workflows``,
``POST /workflows/<id>`` -> 201 + ``Location: .../executions/<id>``,
``GET /executions/<id>`` -> ``{id, status, outputs}``, long-polled logs,
``DELETE /executions/<id>`` -> 202, ``POST /ssh_keys`` (and the older clients'
``POST /users/<name>/ssh_key``) -> 201 ``{id, public_key}``.
A workflow's ``inputs.vault_id`` is our credential id; ``inputs.user_id`` the site login.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import re
import time
from collections.abc import Callable
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any

import tornado
from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join

from eflows_extension.handlers.base import (
    ApiError,
    EflowsAPIHandler,
    bad_request,
    in_thread,
    translated,
)
from eflows_extension.models import HPCWaaSExecuteBody, SshKeyBody
from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.log_query import DEFAULT_LEVELS, parse_duration, parse_levels
from eflows_kernel.services.workflows.registry import RegisteredWorkflow

DEFAULT_LOG_TIMEOUT = 60.0  # HPCWaaS' default, 1m
MAX_LOG_TIMEOUT = 60.0  # the waas client's own HTTP timeout is one minute
# ... so a wait of a minute is answered (empty) after 55 s: held the full minute, the
# answer would come after waas gave up ("Client.Timeout exceeded"), ending its --follow.
LONGEST_HOLD = 55.0
LOG_POLL_INTERVAL = 0.25


def hpcwaas_errors(status: int, body: dict[str, Any]) -> dict[str, Any]:
    """An error as the ``waas`` client reads it: ``{"errors": [{id, status, title,
    detail}]}`` (``status`` a number, ``id`` the snake-case reason, as HPCWaaS'
    ``not_found`` or ``bad_request``); one entry per faulty field, which ``source``
    names (``{"parameter": "timeout"}``, ignored by ``waas``)."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    base = {"id": title.lower().replace(" ", "_").replace("-", "_"), "status": status,
            "title": title}
    fields = body.get("errors")
    if isinstance(fields, dict) and fields:
        return {"errors": [{**base, "detail": f"{field}: {why}", "source": {"parameter": field}}
                           for field, why in fields.items()]}
    return {"errors": [{**base, "detail": str(body.get("message") or title)}]}


BASIC_AUTH = re.compile(r"basic\s+(\S+)\s*$", re.IGNORECASE)


def basic_credentials(header: str) -> tuple[str, str] | None:
    """``(user, password)`` of an ``Authorization: Basic`` header, None for any other
    header or a malformed one (which then authenticates nobody)."""
    match = BASIC_AUTH.match(header)
    if match is None:
        return None
    try:
        pair = base64.b64decode(match.group(1), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = pair.partition(":")
    return (user, password) if sep and password else None


class HPCWaaSHandler(EflowsAPIHandler):
    basic_user: str | None = None

    async def prepare(self) -> None:  # type: ignore[override]
        """The published ``waas`` client logs in only with HTTP Basic (``waas -u
        user:password`` becomes ``Authorization: Basic ...``; it has no way to send a
        token header). Here the password is a Jupyter (or JupyterHub API) token: it is
        handed to jupyter_server's own authentication as ``token <password>``, so the
        token alone says who the caller is. The user name, when given, must be the one
        this server acts for (the hub user, else ``local_user``): a script naming Alice
        with Bob's token is refused rather than run as Bob."""
        credentials = basic_credentials(self.request.headers.get("Authorization", ""))
        if credentials is not None:
            self.basic_user, token = credentials
            self.request.headers["Authorization"] = f"token {token}"
        await super().prepare()
        if self.basic_user and self.current_user is not None \
                and "eflows" in self.settings and self.basic_user != self.caller.name:
            raise ApiError(403, {"message": f"user {self.basic_user[:64]!r} is not the user "
                                            "this server acts for: give its own name "
                                            "(or none) with its token"})

    def hpcwaas_url(self, *parts: str) -> str:
        return url_path_join(self.base_url, "eflows", "hpcwaas", *parts)

    def workflow(self, workflow_id: str) -> RegisteredWorkflow:
        """By id, else by name (HPCWaaS scripts often use the workflow's name); a
        published workflow the caller is not granted is 404, as an unknown one."""
        return self.eflows.catalogue.resolve(workflow_id, self.caller)

    def error_body(self, status: int, body: dict[str, Any]) -> dict[str, Any]:
        return hpcwaas_errors(status, body)


class HPCWaaSWorkflowsHandler(HPCWaaSHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self) -> None:
        self.reply({"workflows": self.eflows.catalogue.list_all(self.caller)})


class HPCWaaSWorkflowHandler(HPCWaaSHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    async def post(self, workflow_id: str) -> None:
        body = self.parse(HPCWaaSExecuteBody, allow_empty=True)
        workflow = self.workflow(workflow_id)
        inputs = dict(body.inputs)
        declared = {i.name for i in workflow.workflow.inputs}
        # vault_id / user_id are HPCWaaS plumbing, not workflow inputs, unless declared so.
        vault_id = inputs.get("vault_id")
        if vault_id is not None and not isinstance(vault_id, str):
            raise bad_request({"inputs.vault_id": "must be a string (a credential id)"})
        user_id = inputs.get("user_id")
        if user_id is not None and not isinstance(user_id, str):
            raise bad_request({"inputs.user_id": "must be a string (the login on the site)"})
        for name in ("vault_id", "user_id"):
            if name not in declared:
                inputs.pop(name, None)
        execution = await self.start_execution(
            workflow.id, inputs, body.site, vault_id, login=user_id,
            field_names={"credential_id": "inputs.vault_id", "login": "inputs.user_id"})
        self.reply({"id": execution.id, "status": execution.hpcwaas_status.value}, 201,
                   self.hpcwaas_url("executions", execution.id))


class HPCWaaSExecutionHandler(HPCWaaSHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self, execution_id: str) -> None:
        self.reply(self.eflows.executions.get(execution_id).hpcwaas())

    @tornado.web.authenticated
    @authorized
    @translated
    def delete(self, execution_id: str) -> None:
        self.reply(self.eflows.executions.cancel(execution_id).hpcwaas(), 202)


class HPCWaaSLogsHandler(HPCWaaSHandler):
    """``?from=0&timeout=1m0s&size=-1&levels=15``, as the ``waas`` client sends it.

    ``from`` is an entry index, ``size`` a count (``-1``: all), ``timeout`` a Go duration
    (or seconds) to wait for entries past ``from`` (answered at once when there are
    some, or the run is over), ``levels`` a bitmask (``DEBUG=1 INFO=2 WARN=4 ERROR=8``,
    ``0``: INFO+WARN+ERROR) or names. The body is ``{"logs": [{level, timestamp,
    content}], "total_results", "from"}``, and ``next`` (our addition): the ``from`` to
    ask next.
    """

    @tornado.web.authenticated
    @authorized
    @translated
    async def get(self, execution_id: str) -> None:
        start = self.int_arg("from", 0)
        size = self.int_arg("size", -1, minimum=-1)
        if size == 0:
            raise bad_request({"size": "must be -1 (every entry) or a positive count"},
                              "invalid query")
        wait = self.query_value("timeout", DEFAULT_LOG_TIMEOUT, parse_duration)
        if not 0 <= wait <= MAX_LOG_TIMEOUT:
            raise bad_request({"timeout": f"must be from 0 to {MAX_LOG_TIMEOUT:g} seconds "
                                          "(e.g. 1m0s, 30s)"}, "invalid query")
        levels = self.query_value("levels", None, parse_levels)
        assert start is not None
        deadline = time.monotonic() + min(wait, LONGEST_HOLD)
        entries = self.eflows.log_entries
        while True:
            page = await in_thread(entries.page, execution_id, start,
                                   None if size == -1 else size, levels or DEFAULT_LEVELS)
            if page.entries or page.finished or time.monotonic() >= deadline:
                break
            await asyncio.sleep(LOG_POLL_INTERVAL)
        self.reply({**page.to_hpcwaas(), "next": start + len(page.entries)})

    def query_value(self, name: str, default: Any, parse: Callable[[str, str], Any]) -> Any:
        """A query argument read by ``parse``; its refusal a 400 naming the argument."""
        value = self.get_query_argument(name, None)
        if value is None or value == "":
            return default
        try:
            return parse(value, name)
        except ValidationError as exc:
            raise bad_request({name: exc.message}, "invalid query") from None


class HPCWaaSSshKeysHandler(HPCWaaSHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    async def post(self) -> None:
        body = self.parse(SshKeyBody, allow_empty=True)
        await self.make_key(body.name, body.kind, body.metadata)

    async def make_key(self, name: str | None, kind: str = "ed25519",
                       metadata: dict[str, Any] | None = None) -> None:
        """A new key in the vault, answered ``201 {id, public_key}`` (never the private)."""
        name = name or f"hpcwaas-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}"
        info = await in_thread(functools.partial(self.eflows.vault.generate, name, kind,
                                                 metadata=metadata))
        self.reply({"id": info.id, "public_key": info.public_key}, 201,
                   self.api_url("credentials", info.id))


class HPCWaaSUserSshKeyHandler(HPCWaaSSshKeysHandler):
    """``POST /users/<name>/ssh_key``: the older ``waas`` client's way to make a key
    (``api/users.go``, no body), answered as ``POST /ssh_keys``. The name must be the
    user this server acts for: one user's server makes no key in another's name."""

    @tornado.web.authenticated
    @authorized
    @translated
    async def post(self, user_name: str) -> None:  # type: ignore[override]
        if user_name != self.caller.name:
            raise ApiError(403, {"message": f"user {user_name[:64]!r} is not the user this "
                                            "server acts for: name its own user"})
        await self.make_key(None)
