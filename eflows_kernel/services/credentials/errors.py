"""Errors of the credential vault.

Messages say what is wrong and what to do, and never contain key material: they
end up in HTTP responses, notebooks and logs.
"""

from __future__ import annotations


class VaultError(ValueError):
    """A credential cannot be created, read or used (a user mistake: HTTP 400)."""


class CredentialNotFound(VaultError, LookupError):
    """No credential has this id (HTTP 404)."""

    def __init__(self, credential_id: str) -> None:
        self.credential_id = credential_id
        super().__init__(f"no credential with id {credential_id!r}")


class MasterKeyError(VaultError):
    """The vault's master key is missing, malformed, unsafe, or not the one used to encrypt.

    A configuration problem of the server rather than of the request, so handlers
    may want to answer 500 with this message.
    """
