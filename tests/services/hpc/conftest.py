"""The site-transfer tests' session and work folder on the real test sshd, shared.

``client`` (a password session) and ``rdir`` (a fresh folder in the login's home) are
the cluster plugin's ``site_client`` and ``site_dir`` under the names these tests use;
a module that needs another session (``test_slurm.py``: Slurm too) defines its own.
"""

from __future__ import annotations

import paramiko
import pytest


@pytest.fixture
def client(site_client: paramiko.SSHClient) -> paramiko.SSHClient:
    return site_client


@pytest.fixture
def rdir(site_dir: str) -> str:
    return site_dir
