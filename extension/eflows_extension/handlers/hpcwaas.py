"""The eFlows4HPC "HPCWaaS" Execution API, as a compatible route set over the same services.

Shapes follow the published contract (see DESIGN.md): ``GET /workflows``,
``POST /workflows/<id>`` -> 201 + ``Location: .../executions/<id>``,
``GET /executions/<id>`` -> ``{id, status, outputs}``, long-polled logs,
``DELETE /executions/<id>`` -> 202, ``POST /ssh_keys`` -> 201 ``{id, public_key}``.
A workflow's ``inputs.vault_id`` is our credential id; ``inputs.user_id`` the site login.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime, timezone
from typing import Any

import tornado
from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join

from eflows_extension.handlers.base import EflowsAPIHandler, bad_request, in_thread, translated
from eflows_extension.models import HPCWaaSExecuteBody, SshKeyBody
from eflows_kernel.services.errors import NotFoundError
from eflows_kernel.services.workflows.registry import RegisteredWorkflow

MAX_LOG_TIMEOUT = 60.0
LOG_POLL_INTERVAL = 0.25
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_LEVEL = re.compile(r"\b(DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL|FATAL)\b")


def _level(line: str) -> str:
    found = _LEVEL.search(line[:80])
    if not found:
        return "INFO"
    word = found.group(1)
    return {"WARN": "WARNING", "CRITICAL": "ERROR", "FATAL": "ERROR"}.get(word, word)


class HPCWaaSHandler(EflowsAPIHandler):
    def hpcwaas_url(self, *parts: str) -> str:
        return url_path_join(self.base_url, "eflows", "hpcwaas", *parts)

    def workflow(self, workflow_id: str) -> RegisteredWorkflow:
        """By id, else by name (HPCWaaS scripts often use the workflow's name)."""
        try:
            return self.eflows.registry.get(workflow_id)
        except NotFoundError:
            try:
                return self.eflows.registry.get_by_name(workflow_id)
            except NotFoundError:
                raise NotFoundError(f"no workflow with id or name {workflow_id!r}",
                                    id=workflow_id) from None


class HPCWaaSWorkflowsHandler(HPCWaaSHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def get(self) -> None:
        items: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self.eflows.registry.list(limit=1000, offset=offset)
            items += [w.summary() for w in page.items]
            offset += len(page.items)
            if not page.items or offset >= page.total:
                break
        self.reply({"workflows": items})


class HPCWaaSWorkflowHandler(HPCWaaSHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    def post(self, workflow_id: str) -> None:
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
        execution = self.start_execution(
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
    """``?from=<offset>&size=<bytes>&timeout=<s>&levels=INFO,ERROR``: waits up to ``timeout``
    seconds for output past ``from`` (returns at once when there is some, or the run is over).
    """

    @tornado.web.authenticated
    @authorized
    @translated
    async def get(self, execution_id: str) -> None:
        start = self.int_arg("from", 0)
        size = self.int_arg("size", None, minimum=1)
        timeout = self.get_query_argument("timeout", None)
        try:
            wait = float(timeout) if timeout not in (None, "") else 0.0
        except ValueError:
            wait = -1.0
        if not 0 <= wait <= MAX_LOG_TIMEOUT or wait != wait:
            raise bad_request({"timeout": f"must be a number of seconds from 0 to "
                                          f"{MAX_LOG_TIMEOUT:g}"}, "invalid query")
        raw_levels = self.get_query_argument("levels", None)
        levels = None
        if raw_levels:
            levels = {lvl.strip().upper() for lvl in raw_levels.split(",") if lvl.strip()}
            levels = {"WARNING" if lvl == "WARN" else lvl for lvl in levels}
            unknown = sorted(levels - set(LEVELS))
            if unknown:
                raise bad_request({"levels": f"unknown level(s) {', '.join(unknown)[:80]} "
                                             f"(use {', '.join(LEVELS)})"}, "invalid query")
        assert start is not None
        deadline = time.monotonic() + wait
        while True:
            text, next_offset = await self.read_logs(execution_id, start, size)
            if text or time.monotonic() >= deadline or \
                    self.eflows.executions.get(execution_id).finished:
                break
            await asyncio.sleep(LOG_POLL_INTERVAL)
        now = datetime.now(timezone.utc).isoformat()
        entries = [{"timestamp": now, "level": _level(line), "content": line}
                   for line in text.splitlines()]
        if levels is not None:
            entries = [e for e in entries if e["level"] in levels]
        self.reply({"id": execution_id, "from": start, "next": next_offset, "logs": entries})


class HPCWaaSSshKeysHandler(HPCWaaSHandler):
    @tornado.web.authenticated
    @authorized
    @translated
    async def post(self) -> None:
        body = self.parse(SshKeyBody, allow_empty=True)
        name = body.name or f"hpcwaas-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}"
        info = await in_thread(self.eflows.vault.generate, name, body.kind)
        self.reply({"id": info.id, "public_key": info.public_key}, 201,
                   self.api_url("credentials", info.id))
