"""Errors an API returns on purpose, rendered as ``application/problem+json`` (RFC 9457)."""

from __future__ import annotations

from typing import Any


class ProblemError(Exception):
    status_code: int = 400
    title: str = "Bad request"
    # Response headers the status requires, e.g. WWW-Authenticate on a 401.
    headers: dict[str, str] | None = None

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class NotFound(ProblemError):
    status_code = 404
    title = "Not found"


class Conflict(ProblemError):
    status_code = 409
    title = "Conflict"


class Unprocessable(ProblemError):
    """The request is well-formed but breaks a rule (a business rule, or a reused Idempotency-Key)."""

    status_code = 422
    title = "Unprocessable request"


class PayloadTooLarge(ProblemError):
    status_code = 413
    title = "Payload too large"


class Unauthorized(ProblemError):
    """No credentials, or ones that are malformed, unknown, expired or revoked."""

    status_code = 401
    title = "Unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="parley"'}


class Forbidden(ProblemError):
    """A known identity without the role (or client) the request needs."""

    status_code = 403
    title = "Forbidden"


class ServiceUnavailable(ProblemError):
    """Overloaded (or the database unreachable): nothing was done; the same request may be retried."""

    status_code = 503
    title = "Service unavailable"
    headers = {"Retry-After": "1"}
