"""Typed domain errors. Each surface (JSON API, HTML pages) has one handler for them.

``code`` is stable and machine-readable; ``message_key`` names a catalog entry
(app/locales/*.json) so pages answer in the user's language; ``field`` names the input
that was wrong, when there is one.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "error"

    def __init__(self, message_key: str | None = None, *, field: str | None = None, **params: Any) -> None:
        self.message_key = message_key or f"error.{self.code}"
        self.field = field
        self.params = params
        super().__init__(self.message_key if field is None else f"{field}: {self.message_key}")


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class InvalidInput(DomainError):
    """Malformed input: answered 422 naming the field; nothing is stored."""

    status_code = 422
    code = "invalid"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Unauthenticated(DomainError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class TooManyRequests(DomainError):
    status_code = 429
    code = "rate_limited"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "too_large"
