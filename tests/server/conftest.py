"""A real Jupyter server with the extension, its state in a temporary SQLite file."""

from __future__ import annotations

import json
from typing import Any

import pytest


class Api:
    """``await api("GET", "eflows/api/...")`` -> (status, headers, JSON body); never raises."""

    def __init__(self, fetch: Any) -> None:
        self.fetch = fetch

    async def __call__(self, method: str, path: str, body: Any = None, *,
                       raw: str | bytes | None = None, params: dict[str, Any] | None = None,
                       headers: dict[str, str] | None = None,
                       timeout: float = 30) -> tuple[int, Any, Any]:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False,
                                  "request_timeout": timeout}
        if raw is not None:
            kwargs["body"] = raw
        elif body is not None:
            kwargs["body"] = json.dumps(body)
        elif method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = ""
        response = await self.fetch(*path.strip("/").split("/"), params=params,
                                    headers=dict(headers or {}), **kwargs)
        text = response.body.decode() if response.body else ""
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = text
        return response.code, response.headers, data


@pytest.fixture
def api(jp_fetch: Any, jp_serverapp: Any) -> Api:
    return Api(jp_fetch)
