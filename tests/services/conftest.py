"""Fixtures of the service tests; the real-sshd ones live in sshd_fixtures.py."""

from tests.services.sshd_fixtures import (  # noqa: F401 (re-exported as fixtures)
    clean_account,
    rotated_host_key,
    service,
    site,
    sshd,
    trusted_site,
    vault,
)
