"""Credentials: the vault of SSH keys for the clusters, encrypted at rest, and its storage.

``vault.py`` encrypts and decrypts; ``repository.py`` holds the record format and the
in-memory and JSON-file repositories; ``sql.py`` stores the records in the state database.
"""

from eflows_kernel.services.credentials.errors import CredentialNotFound, MasterKeyError, VaultError
from eflows_kernel.services.credentials.keys import remove_authorized_key
from eflows_kernel.services.credentials.master_key import ENV_VAR, KEY_FILE_NAME, new_master_key
from eflows_kernel.services.credentials.repository import (
    CredentialRecord,
    CredentialRepository,
    InMemoryCredentialRepository,
    JsonFileCredentialRepository,
)
from eflows_kernel.services.credentials.sql import SqlCredentialRepository
from eflows_kernel.services.credentials.vault import CredentialInfo, CredentialVault

__all__ = [
    "ENV_VAR",
    "KEY_FILE_NAME",
    "CredentialInfo",
    "CredentialNotFound",
    "CredentialRecord",
    "CredentialRepository",
    "CredentialVault",
    "InMemoryCredentialRepository",
    "JsonFileCredentialRepository",
    "MasterKeyError",
    "SqlCredentialRepository",
    "VaultError",
    "new_master_key",
    "remove_authorized_key",
]
