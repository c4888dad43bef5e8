"""Persistence of the services: one versioned SQLAlchemy database (SQLite by default)."""

from eflows_kernel.services.state.store import (
    CURRENT_VERSION,
    ENV_VAR,
    Page,
    SchemaVersionError,
    StateStore,
    check_page,
    default_url,
)

__all__ = [
    "CURRENT_VERSION",
    "ENV_VAR",
    "Page",
    "SchemaVersionError",
    "StateStore",
    "check_page",
    "default_url",
]
