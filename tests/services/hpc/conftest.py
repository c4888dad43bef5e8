"""The site-transfer tests' session and work folder on the real test sshd, shared.

``client`` (a password session) and ``rdir`` (a fresh folder in the login's home) are
the cluster plugin's ``site_client`` and ``site_dir`` under the names these tests use;
a module that needs another session (``test_slurm.py``: Slurm too) defines its own.
``site_sessions``: the sites of a transfers service whose firings reach that site.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import paramiko
import pytest

from tests.plugins.cluster import SshdInfo, password_login


@pytest.fixture
def client(site_client: paramiko.SSHClient) -> paramiko.SSHClient:
    return site_client


@pytest.fixture
def rdir(site_dir: str) -> str:
    return site_dir


@pytest.fixture
def site_sessions(sshd: SshdInfo) -> Callable[[], Any]:
    """The sites of a transfers service: the one test site, each firing reaching it by a
    password session of its own (what ``TransfersService(sites=...)`` calls)."""
    class Sites:
        def get_by_name(self, name: str) -> SimpleNamespace:
            return SimpleNamespace(id="site-1", name=name)

        def connect(self, site_id: str, credential: str | None) -> paramiko.SSHClient:
            return password_login(sshd)

    return Sites
