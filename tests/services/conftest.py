"""The site service on the real test sshd, for the service tests (the sshd: tests/plugins)."""

from __future__ import annotations

import os

import pytest

from eflows_kernel.services.credentials import CredentialVault, InMemoryCredentialRepository
from eflows_kernel.services.sites import InMemorySiteRepository, Site, SiteService
from tests.plugins.cluster import SshdInfo


@pytest.fixture
def vault() -> CredentialVault:
    return CredentialVault(InMemoryCredentialRepository(), master_key=os.urandom(32))


@pytest.fixture
def service(vault: CredentialVault) -> SiteService:
    return SiteService(InMemorySiteRepository(), vault, timeout=10)


@pytest.fixture
def site(service: SiteService, clean_account: SshdInfo) -> Site:
    """The test sshd as a site, host key not trusted yet."""
    return service.add({"name": "loopback", "host": clean_account.host,
                        "port": clean_account.port, "login": clean_account.login,
                        "scheduler": "none", "python": {"mode": "bootstrap"}})


@pytest.fixture
def trusted_site(service: SiteService, site: Site) -> Site:
    return service.trust(site.id, service.scan(site.id).fingerprint)
