"""Credential vault: SSH keys for the clusters, encrypted at rest (see ``vault.py``)."""

from eflows_kernel.services.vault.errors import CredentialNotFound, MasterKeyError, VaultError
from eflows_kernel.services.vault.keys import remove_authorized_key
from eflows_kernel.services.vault.master_key import ENV_VAR, KEY_FILE_NAME, new_master_key
from eflows_kernel.services.vault.repository import (
    CredentialRecord,
    CredentialRepository,
    InMemoryCredentialRepository,
    JsonFileCredentialRepository,
)
from eflows_kernel.services.vault.vault import CredentialInfo, CredentialVault

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
    "VaultError",
    "new_master_key",
    "remove_authorized_key",
]
