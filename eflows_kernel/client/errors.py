"""Errors of the client itself: the server could not be reached or refused us.

Errors a *service* raises (404/409/400) come back as the service's own classes
(``NotFoundError``, ``ConflictError``, ``ValidationError``) so code written
against the in-process services handles a remote server without change.
"""

from __future__ import annotations


class ClientError(Exception):
    """The request did not reach a service: no connection, a refused token, a server fault.

    ``status`` is the HTTP status when the server answered (None when it did not),
    ``url`` the address that was tried, so the message can say where to look.
    """

    def __init__(self, message: str, *, url: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.url = url
        self.status = status
