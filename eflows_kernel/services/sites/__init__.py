"""HPC sites (the HPCWaaS "infrastructures"): where they are, how to log in, whom to trust.

``config`` holds what a site is, ``service`` what can be done with one (pin its host key,
check it, authorize a key on it), ``store`` and ``repository`` where sites are kept.
"""

from eflows_kernel.services.sites.config import (
    CheckReport,
    FingerprintMismatch,
    PythonConfig,
    Site,
    SiteConfig,
    SiteError,
    SiteExists,
    SiteNotFound,
)
from eflows_kernel.services.sites.repository import InMemorySiteRepository, SiteRepository
from eflows_kernel.services.sites.service import AUTHORIZED_KEYS, SiteService
from eflows_kernel.services.sites.store import SiteStore

__all__ = [
    "AUTHORIZED_KEYS",
    "CheckReport",
    "FingerprintMismatch",
    "InMemorySiteRepository",
    "PythonConfig",
    "Site",
    "SiteConfig",
    "SiteError",
    "SiteExists",
    "SiteNotFound",
    "SiteRepository",
    "SiteService",
    "SiteStore",
]
