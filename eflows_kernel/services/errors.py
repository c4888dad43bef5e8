"""Errors shared by every service, one class per HTTP status the REST layer returns.

Services raise these (never HTTP errors) so they stay usable without a server;
the extension maps ``NotFoundError`` to 404, ``ConflictError`` to 409 and
``ValidationError`` to 400, and anything else is a genuine 500.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Base of the errors a user can cause; ``details`` is extra JSON for the client."""

    status = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """JSON body of the error response."""
        return {"message": self.message, **self.details}


class NotFoundError(ServiceError, LookupError):
    """No object with that id (or name): HTTP 404."""

    status = 404


class ConflictError(ServiceError):
    """The request clashes with what is stored (a duplicate, a finished execution): HTTP 409."""

    status = 409


class ValidationError(ServiceError, ValueError):
    """The request itself is malformed (bad limit, bad spec, bad input): HTTP 400."""

    status = 400
