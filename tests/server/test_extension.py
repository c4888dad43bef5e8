"""The server extension loads in a real Jupyter server and its routes are protected."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from eflows_extension import EflowsExtensionApp


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"eflows_extension": True}}}


async def test_status_route_answers_under_the_base_url(jp_fetch, jp_base_url):
    assert jp_base_url not in ("", "/")  # pytest-jupyter's non-trivial default
    response = await jp_fetch("eflows", "api", "status")
    assert response.code == 200
    body = json.loads(response.body)
    assert body["default_engine"] == "local" and body["version"]


@pytest.mark.parametrize("route", [r for r, _ in EflowsExtensionApp.route_table()])
async def test_every_route_refuses_unauthenticated_requests(jp_fetch, route):
    parts = route.strip("/").split("/")
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*parts, headers={"Authorization": ""})
    assert info.value.code == 403


def test_the_installed_config_enables_the_extension():
    """pip install enables it through etc/jupyter/jupyter_server_config.d."""
    jupyter = Path(sys.executable).parent / "jupyter"
    result = subprocess.run([str(jupyter), "server", "extension", "list"],
                            capture_output=True, text=True, timeout=60)
    output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    assert "eflows_extension enabled" in output
    assert "eflows_extension 0.1.0 OK" in output
