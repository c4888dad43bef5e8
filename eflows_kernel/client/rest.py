"""``EflowsClient``: the services' interface spoken over the extension's REST API.

Only the standard library (``urllib``) is used: ``requests``/``httpx`` are not
dependencies of this distribution, and the client must work in a bare kernel.
Results are the services' own models (``RegisteredWorkflow``, ``Execution``,
``CredentialInfo``...) and errors the services' own classes, so code does not
care whether the services live in this process (``LocalClient``) or behind a
Jupyter server, including a single-user server under JupyterHub (its URL with
the ``/user/<name>/`` prefix, and a token the hub issued).
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from eflows_kernel.client.errors import ClientError
from eflows_kernel.events import Follower
from eflows_kernel.services.credentials import CredentialInfo
from eflows_kernel.services.errors import (
    ConflictError,
    NotFoundError,
    ServiceError,
    ValidationError,
)
from eflows_kernel.services.executions import Execution
from eflows_kernel.services.sites import LOCAL_SITE
from eflows_kernel.services.state import Page
from eflows_kernel.services.workflows.registry import RegisteredWorkflow

API_PATH = "eflows/api/"
_UI_SEGMENTS = frozenset({"lab", "tree", "notebooks", "voila", "eflows", "doc", "edit"})
_ERRORS: dict[int, type[ServiceError]] = {400: ValidationError, 404: NotFoundError,
                                          409: ConflictError}


def split_url(url: str) -> tuple[str, str | None]:
    """The server's base URL (ending in ``/``) and a ``?token=`` found in it, if any.

    Users paste what their browser shows (``http://host:8888/lab?token=...``,
    ``https://hub/user/alice/lab/tree/x.ipynb``); keep the base, drop the UI path.
    """
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ClientError(f"not an http(s) URL: {url!r}", url=url)
    token = urllib.parse.parse_qs(parts.query).get("token", [None])[0]
    segments = [s for s in (parts.path or "/").split("/") if s]
    start = 2 if segments[:1] in (["user"], ["users"]) else 0  # JupyterHub /user/<name>/
    for index in range(start, len(segments)):
        if segments[index] in _UI_SEGMENTS:
            segments = segments[:index]
            break
    path = "/" + "".join(f"{s}/" for s in segments)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", "")), token


def credential_info(data: Mapping[str, Any]) -> CredentialInfo:
    """A ``CredentialInfo`` from its JSON form (the REST API's credential body)."""
    return CredentialInfo(id=data["id"], name=data["name"], kind=data["kind"],
                          public_key=data["public_key"], fingerprint=data["fingerprint"],
                          comment=data.get("comment") or "",
                          created_at=datetime.fromisoformat(data["created_at"]),
                          has_certificate=bool(data.get("has_certificate")))


class _Transport:
    """JSON over HTTP with the token header; maps error statuses to exceptions."""

    def __init__(self, url: str, token: str | None, verify: bool, timeout: float) -> None:
        self.base_url, url_token = split_url(url)
        self.api_url = self.base_url + API_PATH
        self.token = token or url_token
        self.timeout = timeout
        self._context = None
        if self.api_url.startswith("https:") and not verify:
            self._context = ssl.create_default_context()
            self._context.check_hostname = False
            self._context.verify_mode = ssl.CERT_NONE

    def _request(self, method: str, path: str, body: Any, params: Mapping[str, Any] | None,
                 headers: Mapping[str, str] | None) -> urllib.request.Request:
        url = self.api_url + path
        if params:
            query = [(k, str(v)) for k, v in params.items() if v is not None
                     and not isinstance(v, list | tuple)]
            query += [(k, str(i)) for k, v in params.items() if isinstance(v, list | tuple)
                      for i in v]
            if query:
                url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"token {self.token}")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        return request

    def open(self, method: str, path: str, body: Any = None,
             params: Mapping[str, Any] | None = None,
             headers: Mapping[str, str] | None = None, timeout: float | None = None) -> Any:
        """The open HTTP response (2xx), or the mapped error raised."""
        request = self._request(method, path, body, params, headers)
        try:
            return urllib.request.urlopen(request, timeout=timeout or self.timeout,
                                          context=self._context)
        except urllib.error.HTTPError as exc:
            with exc:
                raise self._error(exc.code, exc.read(), request.full_url) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ClientError(f"cannot reach the eflows server at {self.base_url}: {reason}",
                              url=self.base_url) from None

    def call(self, method: str, path: str, body: Any = None,
             params: Mapping[str, Any] | None = None) -> Any:
        """The decoded JSON answer (None for 204)."""
        with self.open(method, path, body, params) as response:
            raw = response.read()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ClientError(f"{self.api_url + path} did not answer JSON (is {self.base_url} "
                              "a Jupyter server with the eflows extension?)",
                              url=self.base_url) from None

    def _error(self, status: int, raw: bytes, url: str) -> Exception:
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        message = str(body.pop("message", "") or body.pop("reason", "") or "")
        if status in _ERRORS:
            return _ERRORS[status](message or f"HTTP {status}", **body)
        if status == 502 and message:  # the server is fine, the HPC site (SSH) failed
            from eflows_kernel.services.hpc.ssh import SSHError

            return SSHError(message, **body)
        if status in (401, 403):
            hint = "no token was given" if not self.token else "the token was refused"
            return ClientError(f"{hint} by {self.base_url} (HTTP {status}); give the server's "
                               "token with --token, $EFLOWS_TOKEN or the config file",
                               url=self.base_url, status=status)
        if status == 404 or (status == 405 and not message):
            return ClientError(f"{url} does not exist: is the eflows extension enabled on "
                               f"{self.base_url}?", url=self.base_url, status=status)
        return ClientError(f"the server at {self.base_url} answered HTTP {status}"
                           + (f": {message}" if message else ""),
                           url=self.base_url, status=status)


class _Part:
    def __init__(self, transport: _Transport) -> None:
        self._http = transport


def _page(body: Mapping[str, Any], items: list[Any]) -> Page[Any]:
    return Page[Any](items=items, total=body["total"], limit=body["limit"],
                     offset=body["offset"])


class RestWorkflows(_Part):
    """``WorkflowRegistry`` over REST."""

    def list(self, name: str | None = None, limit: int = 50, offset: int = 0) -> Page[Any]:
        """A page of workflow summaries (dicts: id, name, version, description, inputs)."""
        body = self._http.call("GET", "workflows",
                               params={"name": name, "limit": limit, "offset": offset})
        return _page(body, body["items"])

    def get(self, workflow_id: str) -> RegisteredWorkflow:
        return RegisteredWorkflow.model_validate(
            self._http.call("GET", f"workflows/{_q(workflow_id)}"))

    def register_spec(self, spec: Mapping[str, Any]) -> RegisteredWorkflow:
        return RegisteredWorkflow.model_validate(self._http.call("POST", "workflows",
                                                                 dict(spec)))

    def register_python_file(self, path: str, **options: Any) -> RegisteredWorkflow:
        """Describe the file here and register that description (the server has no upload).

        The application path stays absolute, so the run works when the server runs on
        this host or shares its file system (the usual Jupyter set-up).
        """
        from eflows_kernel.services.workflows import WorkflowImportError, workflow_from_python_file

        try:
            workflow = workflow_from_python_file(path, **options)
        except WorkflowImportError as exc:
            raise ValidationError(str(exc)) from None
        except TypeError as exc:
            raise ValidationError(str(exc)) from None
        spec = workflow.model_dump(mode="json", exclude={"warnings"})
        return self.register_spec(spec)

    def import_folder(self, path: str) -> dict[str, Any]:
        """Import an eFlows4HPC registry folder (a path on the server's host).

        Returns ``{"registered": [summaries], "warnings": [...]}``.
        """
        return self._http.call("POST", "workflows/import", {"path": str(path)})

    def delete(self, workflow_id: str) -> None:
        self._http.call("DELETE", f"workflows/{_q(workflow_id)}")


class RestCredentials(_Part):
    """``CredentialVault`` over REST (private keys go in, never come out)."""

    def generate(self, name: str, kind: str = "ed25519", bits: int | None = None,
                 comment: str | None = None) -> CredentialInfo:
        body: dict[str, Any] = {"name": name, "kind": kind}
        if bits is not None:
            body["bits"] = bits
        if comment is not None:
            body["comment"] = comment
        return credential_info(self._http.call("POST", "credentials", body))

    def import_key(self, name: str, private_key: str, passphrase: str | None = None,
                   certificate: str | None = None, comment: str | None = None
                   ) -> CredentialInfo:
        body = {"name": name, "private_key": private_key, "passphrase": passphrase,
                "certificate": certificate, "comment": comment}
        body = {k: v for k, v in body.items() if v is not None}
        return credential_info(self._http.call("POST", "credentials/import", body))

    def list(self) -> list[CredentialInfo]:
        return [credential_info(c) for c in self._http.call("GET", "credentials")["items"]]

    def get(self, credential_id: str) -> CredentialInfo:
        return credential_info(self._http.call("GET", f"credentials/{_q(credential_id)}"))

    def delete(self, credential_id: str) -> None:
        self._http.call("DELETE", f"credentials/{_q(credential_id)}")


class RestExecutions(_Part):
    """Execution store + local executor over REST."""

    poll_interval = 0.5

    def trigger(self, workflow_id: str, inputs: Mapping[str, Any] | None = None,
                site: str = LOCAL_SITE, credential_id: str | None = None, *,
                password: str | None = None, one_time_code: str | None = None) -> Execution:
        """``password`` / ``one_time_code``: for a site whose login asks (sent once, over
        the server's connection to the site; never stored)."""
        body: dict[str, Any] = {"inputs": dict(inputs or {}), "site": site}
        if credential_id is not None:
            body["credential_id"] = credential_id
        if password is not None:
            body["password"] = password
        if one_time_code is not None:
            body["otp"] = one_time_code
        return Execution.model_validate(
            self._http.call("POST", f"workflows/{_q(workflow_id)}/executions", body))

    def get(self, execution_id: str) -> Execution:
        return Execution.model_validate(self._http.call("GET",
                                                        f"executions/{_q(execution_id)}"))

    def list(self, state: str | list[str] | None = None, workflow_id: str | None = None,
             site: str | None = None, limit: int = 50, offset: int = 0) -> Page[Execution]:
        states = [state] if isinstance(state, str) else state
        body = self._http.call("GET", "executions", params={
            "state": states, "workflow_id": workflow_id, "site": site, "limit": limit,
            "offset": offset})
        return _page(body, [Execution.model_validate(e) for e in body["items"]])

    def cancel(self, execution_id: str) -> Execution:
        return Execution.model_validate(self._http.call("DELETE",
                                                        f"executions/{_q(execution_id)}"))

    def logs(self, execution_id: str, offset: int = 0,
             size: int | None = None) -> tuple[str, int]:
        """Output from byte ``offset`` and the offset to ask next (incremental)."""
        body = self._http.call("GET", f"executions/{_q(execution_id)}/logs",
                               params={"offset": offset, "size": size})
        return body["text"], body["next_offset"]

    def events(self, execution_id: str, from_seq: int = 0) -> list[dict[str, Any]]:
        return self._http.call("GET", f"executions/{_q(execution_id)}/events",
                               params={"from_seq": from_seq})

    def wait(self, execution_id: str, timeout: float) -> Execution:
        """The execution once finished, or as it is after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            execution = self.get(execution_id)
            if execution.finished or time.monotonic() >= deadline:
                return execution
            time.sleep(self.poll_interval)

    def follow(self, execution_id: str, from_seq: int = 0) -> Iterator[dict[str, Any]]:
        """Every event after ``from_seq`` as it happens, until the run has ended.

        Reads the server-sent-events stream (the server ends it once the run is
        finished); a dropped connection resumes from the last sequence number, so
        no event is lost or repeated.
        """
        last = from_seq
        while True:
            try:
                for event in self._stream(execution_id, last):
                    seq = event.get("seq")
                    if isinstance(seq, int):
                        if seq <= last:
                            continue
                        last = seq
                    yield event
            except (OSError, ClientError) as exc:
                if isinstance(exc, ClientError) and exc.status is not None:
                    raise
                time.sleep(self.poll_interval)  # connection dropped: resume below
            execution = self.get(execution_id)
            if execution.finished:
                for event in self.events(execution_id, from_seq=last):  # stragglers
                    last = max(last, int(event.get("seq") or last))
                    yield event
                return

    def follower(self, execution_id: str, from_seq: int = 0) -> Follower:
        """A follower to poll (``poll()``, ``done``, ``latest``), one request or two a poll
        (for widgets polling on their own clock; ``follow`` streams instead)."""
        self.get(execution_id)
        return RestFollower(self, execution_id, from_seq)

    def _stream(self, execution_id: str, from_seq: int) -> Iterator[dict[str, Any]]:
        # The server sends a keep-alive comment every 15 s: a read timeout above it
        # means the connection is dead, not that the run is quiet.
        response = self._http.open("GET", f"executions/{_q(execution_id)}/events/stream",
                                   params={"from_seq": from_seq},
                                   headers={"Accept": "text/event-stream"}, timeout=60)
        with response:
            data: list[str] = []
            for raw in response:
                line = raw.decode("utf-8").rstrip("\r\n")
                if not line:
                    if data:
                        yield json.loads("\n".join(data))
                        data = []
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip(" "))
            if data:
                yield json.loads("\n".join(data))


class RestFollower(Follower):
    """An execution's events over the REST API: its state, then the events after the last."""

    def __init__(self, executions: RestExecutions, execution_id: str, from_seq: int) -> None:
        super().__init__(from_seq)
        self._executions = executions
        self.execution_id = execution_id

    def _state(self) -> Execution:
        return self._executions.get(self.execution_id)

    def _read(self) -> list[dict[str, Any]]:
        return self._executions.events(self.execution_id, from_seq=self.last_seq)


def site_from_dict(data: Mapping[str, Any]) -> Any:
    """A ``sites.Site`` from its JSON form (the REST API's site body)."""
    from eflows_kernel.services.hpc.ssh import HostKey
    from eflows_kernel.services.sites import Site, SiteConfig

    config = SiteConfig.model_validate({k: v for k, v in data.items()
                                        if k in SiteConfig.model_fields})
    key = data.get("host_key")
    return Site(id=data["id"], config=config, host_key=HostKey.from_dict(key) if key else None)


def check_report_from_dict(data: Mapping[str, Any]) -> Any:
    """A ``sites.CheckReport`` from its JSON form (``ok`` is derived from ``problems``)."""
    from eflows_kernel.services.sites import CheckReport

    return CheckReport(reachable=bool(data.get("reachable")), host_key=data.get("host_key"),
                       presented_fingerprint=data.get("presented_fingerprint"),
                       authenticated=data.get("authenticated"),
                       scheduler=data.get("scheduler"), python=data.get("python"),
                       problems=dict(data.get("problems") or {}))


class RestSites(_Part):
    """``SiteService`` over REST. A site is given by its id or by its name.

    Results are the service's models (``Site``, ``HostKey``, ``CheckReport``);
    passwords and one-time codes go in the request body only, never in a URL.
    """

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


def _q(segment: str) -> str:
    if not isinstance(segment, str) or not segment:
        raise ValidationError(f"an id must be a non-empty string, got {segment!r}")
    return urllib.parse.quote(segment, safe="")


class EflowsClient:
    """The eflows services of a Jupyter server, over its REST API.

    ``url`` is the server's address including its base URL (``http://host:8888/``,
    ``https://hub.example.org/user/alice/``); a ``?token=`` in it is used when no
    ``token`` is given. ``verify=False`` accepts a self-signed HTTPS certificate.
    """

    def __init__(self, url: str, token: str | None = None, *, verify: bool = True,
                 timeout: float = 30.0) -> None:
        self._http = _Transport(url, token, verify, timeout)
        self.workflows = RestWorkflows(self._http)
        self.credentials = RestCredentials(self._http)
        self.executions = RestExecutions(self._http)
        self.sites = RestSites(self._http)

    @property
    def url(self) -> str:
        return self._http.base_url

    def __repr__(self) -> str:  # never the token
        return f"{type(self).__name__}({self.url!r})"

    def status(self) -> dict[str, Any]:
        """The extension's status (version, engine): a cheap "is it there" check."""
        return self._http.call("GET", "status")

    def close(self) -> None:
        """Nothing to release (one connection per request); here for ``LocalClient`` parity."""

    def __enter__(self) -> EflowsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["EflowsClient", "check_report_from_dict", "credential_info", "site_from_dict",
           "split_url"]
