"""Errors of the credential vault.

Messages say what is wrong and what to do, and never contain key material: they
end up in HTTP responses, notebooks and logs. They are service errors like every
other (400, 404, or 500 for the master key), so the REST API and the in-process
client report them the same way without translating them.
"""

from __future__ import annotations

from typing import Any

from eflows_kernel.services.errors import NotFoundError, ValidationError


class VaultError(ValidationError):
    """A credential cannot be created, read or used (a user mistake: HTTP 400)."""

    def to_dict(self) -> dict[str, Any]:
        # Some messages quote a PEM header as format help: keep replies free of the marker,
        # so "PRIVATE KEY" in a reply or a log always means a leak.
        body = super().to_dict()
        body["message"] = str(body["message"]).replace("PRIVATE KEY", "private key")
        return body


class CredentialNotFound(VaultError, NotFoundError):
    """No credential has this id (HTTP 404)."""

    status = 404

    def __init__(self, credential_id: str) -> None:
        self.credential_id = credential_id
        super().__init__(f"no credential with id {credential_id!r}", id=credential_id)


class MasterKeyError(VaultError):
    """The vault's master key is missing, malformed, unsafe, or not the one used to encrypt.

    A configuration problem of the server rather than of the request: HTTP 500 with this
    message (it names the file or variable to fix, never the key).
    """

    status = 500
