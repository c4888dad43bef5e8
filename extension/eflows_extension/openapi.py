"""OpenAPI 3 description of the native (``eflows/api``) and HPCWaaS (``eflows/hpcwaas``) routes.

Served at ``GET {base_url}eflows/api/openapi.json``; ``servers`` carries the
base URL so a generated client (or schemathesis) calls the right paths.
"""

from __future__ import annotations

import copy
from typing import Any

from eflows_extension.models import (
    AuthorizeBody,
    CheckBody,
    ExecuteBody,
    GenerateKeyBody,
    HPCWaaSExecuteBody,
    ImportKeyBody,
    ImportWorkflowsBody,
    ResumeBody,
    ServiceCredentialBody,
    SshKeyBody,
    TrustBody,
)
from eflows_kernel.services.lifecycle import ExecutionState
from eflows_kernel.services.sites import SiteConfig
from eflows_kernel.services.transfers import ScheduleSpec

OBJ: dict[str, Any] = {"type": "object"}
ERROR = {"$ref": "#/components/responses/Error"}
HPCWAAS_ERROR = {"$ref": "#/components/responses/HPCWaaSError"}  # what waas reads
STATES = [s.value for s in ExecutionState]
HPCWAAS_STATES = ["RUNNING", "SUCCESS", "FAILED", "CANCELLING", "CANCELLED"]


def _schema(model: Any) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("title", None)
    return schema


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _op(summary: str, responses: dict[str, Any], *, params: list[Any] | None = None,
        body: dict[str, Any] | None = None, tag: str = "eflows") -> dict[str, Any]:
    error = HPCWAAS_ERROR if tag == "hpcwaas" else ERROR
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": {
        **{code: error if answer == ERROR else answer for code, answer in responses.items()},
        "400": error, "403": error}}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = body
    return op


PAGE = [_query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
        _query("offset", {"type": "integer", "minimum": 0, "maximum": 2**53})]
WF, EX, CRED = _path_param("workflow_id"), _path_param("execution_id"), \
    _path_param("credential_id")
LIST = {"type": "object", "required": ["items"], "properties": {
    "items": {"type": "array", "items": OBJ}, "total": {"type": "integer"},
    "limit": {"type": "integer"}, "offset": {"type": "integer"}}}
CREDENTIAL = {"type": "object", "required": ["id", "name", "kind", "public_key"], "properties": {
    k: {"type": "string"} for k in ("id", "name", "kind", "public_key", "fingerprint",
                                    "comment", "created_at")} | {
    "has_certificate": {"type": "boolean"}}}
EXECUTION = {"type": "object", "required": ["id", "workflow_id", "state", "status"],
             "properties": {"id": {"type": "string"}, "workflow_id": {"type": "string"},
                            "state": {"type": "string", "enum": STATES},
                            "status": {"type": "string", "enum": HPCWAAS_STATES},
                            "site": {"type": "string"},
                            "sites": {"type": "array", "items": {"type": "string"}}}}
HPCWAAS_EXECUTION = {"type": "object", "required": ["id", "status", "outputs"], "properties": {
    "id": {"type": "string"}, "status": {"type": "string", "enum": HPCWAAS_STATES},
    "outputs": OBJ}}
NOT_FOUND = {"404": ERROR}


def _paths() -> dict[str, Any]:
    api, hpc = "/eflows/api", "/eflows/hpcwaas"
    return {
        f"{api}/status": {"get": _op("Version and configuration", {"200": _json(OBJ)})},
        f"{api}/openapi.json": {"get": _op("This document", {"200": _json(OBJ)})},
        f"{api}/schemas/workflow-spec": {"get": _op(
            "The JSON Schema of a workflow spec (what POST /workflows accepts)",
            {"200": _json(OBJ)})},
        f"{api}/workflows": {
            "get": _op("List registered workflows", {"200": _json(LIST)},
                       params=[*PAGE, _query("name", {"type": "string"})]),
            "post": _op("Register a workflow from a spec", {
                "201": _json(OBJ, "Registered (Location: the workflow)"), "409": ERROR},
                body=_body({"type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string"}, "version": {"type": "string"},
                    "description": {"type": "string"},
                    "inputs": {"description": "list of inputs, or mapping name -> input"},
                    "steps": {"type": "array", "items": OBJ}}})),
        },
        f"{api}/workflows/import": {"post": _op(
            "Import every workflow of an eFlows4HPC registry folder",
            {"200": _json(OBJ, "Nothing new"), "201": _json(OBJ, "Imported")},
            body=_body(_schema(ImportWorkflowsBody)))},
        f"{api}/workflows/{{workflow_id}}": {
            "get": _op("A workflow", {"200": _json(OBJ), **NOT_FOUND}, params=[WF]),
            "delete": _op("Forget a workflow", {"204": {"description": "Deleted"},
                                                **NOT_FOUND, "409": ERROR}, params=[WF]),
        },
        f"{api}/workflows/{{workflow_id}}/executions": {"post": _op(
            "Execute a workflow", {"201": _json(EXECUTION, "Submitted (Location)"),
                                   **NOT_FOUND, "501": ERROR, "503": ERROR},
            params=[WF], body=_body(_schema(ExecuteBody)))},
        f"{api}/credentials": {
            "get": _op("List credentials (public parts)", {"200": _json(LIST)}),
            "post": _op("Generate an SSH key pair", {"201": _json(CREDENTIAL)},
                        body=_body(_schema(GenerateKeyBody))),
        },
        f"{api}/credentials/import": {"post": _op(
            "Import a private key (never returned)", {"201": _json(CREDENTIAL)},
            body=_body(_schema(ImportKeyBody)))},
        f"{api}/credentials/{{credential_id}}": {
            "get": _op("A credential (public part)", {"200": _json(CREDENTIAL), **NOT_FOUND},
                       params=[CRED]),
            "delete": _op("Forget a credential", {"204": {"description": "Deleted"},
                                                  **NOT_FOUND}, params=[CRED]),
        },
        f"{api}/executions": {"get": _op("List executions", {"200": _json(LIST)}, params=[
            *PAGE, _query("state", {"type": "string", "enum": STATES}),
            _query("workflow_id", {"type": "string"}),
            _query("site", {"type": "string"},
                   "runs on this site (a step graph: any of its steps)")])},
        f"{api}/executions/{{execution_id}}": {
            "get": _op("An execution", {"200": _json(EXECUTION), **NOT_FOUND}, params=[EX]),
            "delete": _op("Cancel an execution", {"202": _json(EXECUTION), **NOT_FOUND,
                                                  "409": ERROR}, params=[EX]),
        },
        f"{api}/executions/{{execution_id}}/logs": {"get": _op(
            "Log text from a byte offset", {"200": _json(OBJ), **NOT_FOUND}, params=[
                EX, _query("offset", {"type": "integer", "minimum": 0}),
                _query("size", {"type": "integer", "minimum": 1}),
                _query("step", {"type": "string"})])},
        f"{api}/executions/{{execution_id}}/steps": {"get": _op(
            "The steps of an execution (a step graph: each with its site, dependencies, "
            "state, own execution id and job id)", {"200": _json(OBJ), **NOT_FOUND},
            params=[EX])},
        f"{api}/executions/{{execution_id}}/events": {"get": _op(
            "Task events with seq > from_seq", {"200": _json({"type": "array",
                                                                 "items": OBJ}), **NOT_FOUND},
            params=[EX, _query("from_seq", {"type": "integer", "minimum": 0})])},
        f"{api}/executions/{{execution_id}}/events/stream": {"get": _op(
            "Live task events (server-sent events; resumes from Last-Event-ID)",
            {"200": {"description": "text/event-stream",
                     "content": {"text/event-stream": {"schema": {"type": "string"}}}},
             **NOT_FOUND},
            params=[EX, _query("from_seq", {"type": "integer", "minimum": 0})])},
        f"{hpc}/workflows": {"get": _op("HPCWaaS: list workflows", {"200": _json({
            "type": "object", "required": ["workflows"], "properties": {
                "workflows": {"type": "array", "items": OBJ}}})}, tag="hpcwaas")},
        f"{hpc}/workflows/{{workflow_id}}": {"post": _op(
            "HPCWaaS: execute (inputs.vault_id = credential id, inputs.user_id = login)",
            {"201": _json(OBJ, "Location: .../executions/<id>"), **NOT_FOUND, "503": ERROR},
            params=[WF], body=_body(_schema(HPCWaaSExecuteBody), required=False),
            tag="hpcwaas")},
        f"{hpc}/executions/{{execution_id}}": {
            "get": _op("HPCWaaS: execution status", {"200": _json(HPCWAAS_EXECUTION),
                                                     **NOT_FOUND}, params=[EX], tag="hpcwaas"),
            "delete": _op("HPCWaaS: cancel", {"202": _json(HPCWAAS_EXECUTION), **NOT_FOUND,
                                              "409": ERROR}, params=[EX], tag="hpcwaas"),
        },
        f"{hpc}/executions/{{execution_id}}/logs": {"get": _op(
            "HPCWaaS: logs (long poll up to timeout seconds)", {"200": _json(OBJ),
                                                               **NOT_FOUND},
            params=[EX, _query("from", {"type": "integer", "minimum": 0}),
                    _query("size", {"type": "integer", "minimum": 1}),
                    _query("timeout", {"type": "number", "minimum": 0, "maximum": 60}),
                    _query("levels", {"type": "string"})], tag="hpcwaas")},
        f"{hpc}/ssh_keys": {"post": _op(
            "HPCWaaS: generate an SSH key", {"201": _json({
                "type": "object", "required": ["id", "public_key"], "properties": {
                    "id": {"type": "string"}, "public_key": {"type": "string"}}})},
            body=_body(_schema(SshKeyBody), required=False), tag="hpcwaas")},
        f"{hpc}/users/{{user_name}}/ssh_key": {"post": _op(
            "HPCWaaS (older clients): generate an SSH key for this server's own user",
            {"201": _json({
                "type": "object", "required": ["id", "public_key"], "properties": {
                    "id": {"type": "string"}, "public_key": {"type": "string"}}})},
            params=[_path_param("user_name")], tag="hpcwaas")},
    } | _site_paths() | _run_paths() | _data_paths()


def _inlined(model: Any) -> dict[str, Any]:
    """A model's schema with nested models written in place (OpenAPI 3.0 has no $defs)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {k: resolve(v) for k, v in node.items() if k != "title"}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(schema)


def _site_paths() -> dict[str, Any]:
    api, site = "/eflows/api/sites", _path_param("site_id")
    ssh_failed = {"502": ERROR, "409": ERROR, **NOT_FOUND}
    return {
        api: {"get": _op("List HPC sites", {"200": _json(OBJ)}),
              "post": _op("Add an HPC site", {"201": _json(OBJ), "409": ERROR},
                          body=_body(_inlined(SiteConfig)))},
        f"{api}/{{site_id}}": {
            "get": _op("A site", {"200": _json(OBJ), **NOT_FOUND}, params=[site]),
            "put": _op("Change a site", {"200": _json(OBJ), **NOT_FOUND}, params=[site],
                       body=_body(_inlined(SiteConfig))),
            "delete": _op("Remove a site", {"204": {"description": "removed"}, **NOT_FOUND},
                          params=[site])},
        f"{api}/{{site_id}}/scan": {"post": _op(
            "First connection: the host key fingerprint (nothing stored)",
            {"200": _json(OBJ), **ssh_failed}, params=[site])},
        f"{api}/{{site_id}}/trust": {"post": _op(
            "Pin the host key the user confirmed", {"200": _json(OBJ), **ssh_failed},
            params=[site], body=_body(_schema(TrustBody)))},
        f"{api}/{{site_id}}/check": {"post": _op(
            "Check the connection with a credential", {"200": _json(OBJ), **NOT_FOUND},
            params=[site], body=_body(_schema(CheckBody)))},
        f"{api}/{{site_id}}/authorize": {"post": _op(
            "Install a credential's public key (password / one-time code, never stored)",
            {"200": _json(OBJ), **ssh_failed}, params=[site],
            body=_body(_schema(AuthorizeBody)))},
        f"{api}/{{site_id}}/revoke": {"post": _op(
            "Remove exactly that credential's key from authorized_keys",
            {"200": _json(OBJ), **ssh_failed}, params=[site],
            body=_body(_schema(AuthorizeBody)))},
    }


def _run_paths() -> dict[str, Any]:
    api = "/eflows/api/executions/{execution_id}"
    files = {"type": "object", "required": ["items", "outputs"], "properties": {
        "items": {"type": "array", "items": {"type": "object", "properties": {
            "path": {"type": "string"}, "bytes": {"type": "integer"},
            "kind": {"type": "string", "enum": ["text", "csv", "image", "binary"]},
            "url": {"type": "string"}, "lab_url": {"type": "string"}}}},
        "outputs": OBJ}}
    path_query = _query("path", {"type": "string"}, "the file's path in the run folder")
    step = _query("step", {"type": "string"}, "a step of a step graph: its folder "
                  "(404: no such step, 409: it has not started)")
    busy = {"409": ERROR, **NOT_FOUND}
    text_or_null = {"type": "string", "nullable": True}
    folder = {"type": "object", "required": ["step", "site", "status", "where", "items"],
              "properties": {
                  "step": text_or_null, "site": {"type": "string"},
                  "execution_id": text_or_null, "state": text_or_null,
                  "status": {"type": "string", "enum": [
                      "listed", "no_folder", "not_started", "site_gone", "unreachable"]},
                  "where": {"type": "string", "enum": ["site", "local"]},
                  "message": text_or_null,
                  "items": files["properties"]["items"]}}
    return {
        f"{api}/record": {"delete": _op(
            "Forget a finished execution (record and run folder)",
            {"204": {"description": "removed"}, **busy}, params=[EX])},
        f"{api}/archive": {"post": _op(
            "Archive a finished execution (record + folder as a .tar.gz), then forget it",
            {"201": _json(OBJ), **busy}, params=[EX])},
        f"{api}/checkpoint": {"get": _op(
            "How many tasks a finished run's checkpoint holds (resumable when any)",
            {"200": _json({"type": "object", "properties": {
                "execution_id": {"type": "string"}, "tasks": {"type": "integer"},
                "resumable": {"type": "boolean"}}}), **NOT_FOUND}, params=[EX])},
        f"{api}/resume": {"post": _op(
            "Run a finished execution again from its checkpoint (a new execution)",
            {"201": _json(EXECUTION, "Submitted (Location)"), "400": ERROR, **busy},
            params=[EX], body=_body(_schema(ResumeBody)))},
        f"{api}/files": {"get": _op(
            "The run folder's files and the outputs, with download and JupyterLab links",
            {"200": _json(files), **busy}, params=[EX, step])},
        f"{api}/files/{{path}}": {"get": _op(
            "Download a file of the run folder (?inline=1 to show it)",
            {"200": {"description": "the file", "content": {
                "application/octet-stream": {"schema": {"type": "string",
                                                        "format": "binary"}}}},
             **busy}, params=[EX, _path_param("path"),
                              _query("inline", {"type": "string", "enum": ["1"]}), step])},
        f"{api}/site-files": {"get": _op(
            "A remote run's folder on its site (over SFTP, with the run's credential)",
            {"200": _json(OBJ), **busy, "502": ERROR}, params=[EX, step])},
        f"{api}/site-files/{{path}}": {"get": _op(
            "Download a file of the run's folder on its site",
            {"200": {"description": "the file", "content": {
                "application/octet-stream": {"schema": {"type": "string",
                                                        "format": "binary"}}}},
             **busy, "502": ERROR}, params=[EX, _path_param("path"), step])},
        f"{api}/step-files": {"get": _op(
            "The run folder of every step, each on its own site with its credential, "
            "grouped by step (a step that cannot be read says why)",
            {"200": _json({"type": "object", "required": ["id", "steps"], "properties": {
                "id": {"type": "string"}, "steps": {"type": "array", "items": folder}}}),
             **NOT_FOUND}, params=[EX])},
        f"{api}/preview": {"get": _op(
            "The beginning of a text or CSV file, or an image's type",
            {"200": _json(OBJ), **busy}, params=[EX, path_query, step])},
    }


def _data_paths() -> dict[str, Any]:
    """Data service logins (secrets in, never out) and periodic transfers."""
    api, cred, sched = "/eflows/api", _path_param("credential_id"), _path_param("schedule_id")
    schedule = _json(OBJ)
    return {
        f"{api}/data-credentials": {
            "get": _op("List data service logins (never their secrets)", {"200": _json(LIST)}),
            "post": _op("Add a data service login (WebDAV, S3, B2SHARE); the secret is "
                        "stored encrypted and never returned", {"201": _json(OBJ)},
                        body=_body(_schema(ServiceCredentialBody)))},
        f"{api}/data-credentials/{{credential_id}}": {
            "get": _op("A data service login", {"200": _json(OBJ), **NOT_FOUND},
                       params=[cred]),
            "delete": _op("Forget a data service login", {"204": {"description": "Deleted"},
                                                          **NOT_FOUND}, params=[cred])},
        f"{api}/transfers": {
            "get": _op("List periodic transfers (last and next run)", {"200": _json(LIST)},
                       params=[_query("execution_id", {"type": "string"})]),
            "post": _op("Schedule a periodic transfer", {"201": schedule},
                        body=_body(_inlined(ScheduleSpec)))},
        f"{api}/transfers/{{schedule_id}}": {
            "get": _op("A periodic transfer", {"200": schedule, **NOT_FOUND}, params=[sched]),
            "delete": _op("Stop and forget a periodic transfer",
                          {"204": {"description": "Deleted"}, **NOT_FOUND}, params=[sched])},
        f"{api}/transfers/{{schedule_id}}/pause": {"post": _op(
            "Pause a periodic transfer (it keeps its place)", {"200": schedule, **NOT_FOUND},
            params=[sched])},
        f"{api}/transfers/{{schedule_id}}/resume": {"post": _op(
            "Resume a paused periodic transfer", {"200": schedule, **NOT_FOUND},
            params=[sched])},
    }


_DOCUMENT: dict[str, Any] | None = None


def _openapi_30(node: Any) -> Any:
    """Pydantic writes JSON Schema 2020-12 bounds (``exclusiveMinimum: 0``); OpenAPI 3.0
    wants the older form (``minimum: 0, exclusiveMinimum: true``), or its clients reject
    the whole document."""
    if isinstance(node, list):
        return [_openapi_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _openapi_30(value) for key, value in node.items()}
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = out.get(bound)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[plain] = value
            out[bound] = True
    return out


def openapi_document(base_url: str = "/") -> dict[str, Any]:
    """The document, with ``servers`` set to the server's base URL."""
    global _DOCUMENT
    if _DOCUMENT is None:
        _DOCUMENT = {
            "openapi": "3.0.3",
            "info": {"title": "eFlows4HPC for Jupyter", "version": "0.1.0",
                     "description": "Native API (eflows/api) and the eFlows4HPC HPCWaaS "
                                    "Execution API (eflows/hpcwaas). Authenticate as for "
                                    "any Jupyter server API (token header or cookie + XSRF)."},
            "paths": _openapi_30(_paths()),
            "components": {
                "responses": {"Error": _json({
                    "type": "object", "required": ["message"], "properties": {
                        "message": {"type": "string"}, "errors": OBJ}}, "Error"),
                    "HPCWaaSError": _json({
                        "type": "object", "required": ["errors"], "properties": {
                            "errors": {"type": "array", "items": {
                                "type": "object",
                                "required": ["id", "status", "title", "detail"],
                                "properties": {
                                    "id": {"type": "string"}, "status": {"type": "integer"},
                                    "title": {"type": "string"},
                                    "detail": {"type": "string"}}}}}}, "HPCWaaSError")},
                "securitySchemes": {"token": {"type": "apiKey", "in": "header",
                                              "name": "Authorization"}},
            },
            "security": [{"token": []}],
        }
    document = copy.deepcopy(_DOCUMENT)
    document["servers"] = [{"url": base_url.rstrip("/") or "/"}]
    return document
