"""JSON over HTTP to a Jupyter server's eflows API: the address, the token, the errors.

Only the standard library (``urllib``): ``requests``/``httpx`` are not dependencies of
this distribution, and the client must work in a bare kernel. An error status comes
back as the service's own error class (400, 404, 409; 502 for a site that failed),
anything else as a ``ClientError`` saying where to look.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from eflows_kernel.client.errors import ClientError
from eflows_kernel.services.errors import (
    ConflictError,
    NotFoundError,
    ServiceError,
    ValidationError,
)

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


class Transport:
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
            from eflows_kernel.services.hpc.ssh import SSHError  # (it brings paramiko)

            return SSHError(message, **body)
        if status == 403 and message and message != "Forbidden":
            # a service's refusal (a read-only centre site or published workflow), not
            # the server turning the token away (tornado's bare "Forbidden")
            return ClientError(message, url=self.base_url, status=status)
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


def quote_segment(segment: str) -> str:
    if not isinstance(segment, str) or not segment:
        raise ValidationError(f"an id must be a non-empty string, got {segment!r}")
    return urllib.parse.quote(segment, safe="")


__all__ = ["API_PATH", "Transport", "quote_segment", "split_url"]
