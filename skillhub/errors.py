"""Domain errors that services raise; the API layer maps each to an error code of docs/contract.md, section 2."""
from __future__ import annotations


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    code = "VALIDATION_ERROR"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.reason = reason or message


class ValidationFailed(DomainError):
    """One or more fields are invalid; `errors` maps field name to reason, first one first."""

    def __init__(self, errors: dict[str, str], message: str | None = None) -> None:
        first_field, first_reason = next(iter(errors.items()))
        super().__init__(message or f"Invalid {first_field}", field=first_field, reason=first_reason)
        self.errors = errors


class ConflictError(DomainError):
    code = "CONFLICT"
    status = 409


class NotFoundError(DomainError):
    code = "NOT_FOUND"
    status = 404


class ForbiddenError(DomainError):
    code = "FORBIDDEN"
    status = 403
