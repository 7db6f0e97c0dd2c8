"""The errors a use case raises: each carries the HTTP status the web answers with and a Chinese message.

The web maps every error of a use case, of the engine and of the domain through one
function (``web/errors.py``); a use case never returns an error as a value.
"""
from __future__ import annotations


class UseCaseError(Exception):
    """Base class; ``status`` is the HTTP status, ``message`` what the person reads."""

    status = 400

    def __init__(self, message: str, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class NotFound(UseCaseError):
    """Absent, or not this person's to see: both answer 404 so nobody learns what exists."""

    status = 404


class Forbidden(UseCaseError):
    status = 403


class Invalid(UseCaseError):
    """Input refused; ``errors`` maps field → messages, as a form schema's do."""

    status = 422


class Refused(UseCaseError):
    """A business rule says no (e.g. no order left to cancel)."""

    status = 400


class Conflict(UseCaseError):
    """The request is well formed but the thing it is about has moved on (e.g. a callback for an order
    that was cancelled)."""

    status = 409


class Unauthenticated(UseCaseError):
    """A caller that proved nothing (a callback whose signature does not verify)."""

    status = 401
