"""The server extension loads in a real Jupyter server and every route is protected."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tornado.web

from eflows_extension import EflowsExtensionApp
from eflows_extension.openapi import openapi_document

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _concrete(route: str) -> str:
    """The route with each path parameter filled with a dummy id."""
    return re.sub(r"\(\?P<[a-z_]+>[^)]*\)", "dummy-id-0123456789", route)


def _methods(handler: type) -> list[str]:
    return [m for m in METHODS
            if getattr(handler, m.lower()) is not getattr(tornado.web.RequestHandler,
                                                          m.lower())]


ROUTE_METHODS = [(route, method) for route, handler in EflowsExtensionApp.route_table()
                 for method in _methods(handler)]


async def test_status_route_answers_under_the_base_url(api: Any, jp_base_url: str) -> None:
    assert jp_base_url not in ("", "/")  # pytest-jupyter's non-trivial default
    code, _, body = await api("GET", "eflows/api/status")
    assert code == 200
    assert body["default_engine"] == "local" and body["version"]


def test_every_route_has_methods() -> None:
    assert len(ROUTE_METHODS) >= 25
    for route, handler in EflowsExtensionApp.route_table():
        assert _methods(handler), route


@pytest.mark.parametrize(("route", "method"), ROUTE_METHODS)
async def test_every_route_refuses_unauthenticated_requests(api: Any, route: str,
                                                            method: str) -> None:
    code, _, body = await api(method, _concrete(route), headers={"Authorization": ""})
    assert code == 403, (route, method, body)


@pytest.mark.parametrize("route", [r for r, _ in EflowsExtensionApp.route_table()])
async def test_unimplemented_methods_are_refused_too(api: Any, route: str) -> None:
    handler = dict(EflowsExtensionApp.route_table())[route]
    for method in set(METHODS) - set(_methods(handler)):
        code, _, _ = await api(method, _concrete(route), headers={"Authorization": ""})
        assert code in (403, 405), (route, method)


async def test_xsrf_stays_on_for_cookie_authenticated_requests(api: Any) -> None:
    code, headers, _ = await api("GET", "eflows/api/status")  # token: the server sets a cookie
    assert code == 200
    cookies = "; ".join(c.split(";", 1)[0] for c in headers.get_list("Set-Cookie"))
    assert cookies
    only_cookie = {"Authorization": "", "Cookie": cookies}
    code, _, _ = await api("GET", "eflows/api/credentials", headers=only_cookie)
    assert code == 200  # the cookie authenticates...
    code, _, _ = await api("POST", "eflows/api/credentials", {"name": "k"},
                           headers=only_cookie)
    assert code == 403  # ...but a POST without the XSRF token is refused
    code, _, body = await api("GET", "eflows/api/credentials")
    assert body["items"] == []


def test_openapi_document_describes_every_route() -> None:
    document = openapi_document("/a%40b/")
    assert document["openapi"].startswith("3.")
    assert document["servers"] == [{"url": "/a%40b"}]
    for route, handler in EflowsExtensionApp.route_table():
        path = re.sub(r"\(\?P<([a-z_]+)>[^)]*\)", r"{\1}", route)
        assert path in document["paths"], path
        assert sorted(m.lower() for m in _methods(handler)) == \
            sorted(document["paths"][path]), path


async def test_openapi_document_is_served(api: Any, jp_base_url: str) -> None:
    code, _, body = await api("GET", "eflows/api/openapi.json")
    assert code == 200
    assert body["servers"][0]["url"] == jp_base_url.rstrip("/")
    assert "/eflows/hpcwaas/ssh_keys" in body["paths"]


def test_the_installed_config_enables_the_extension() -> None:
    """pip install enables it through etc/jupyter/jupyter_server_config.d."""
    jupyter = Path(sys.executable).parent / "jupyter"
    result = subprocess.run([str(jupyter), "server", "extension", "list"],
                            capture_output=True, text=True, timeout=60)
    output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    assert "eflows_extension enabled" in output
    assert "eflows_extension 0.1.0 OK" in output
