"""Errors of the use cases, in domain terms; they know nothing of HTTP.

Services raise these; the API layer maps each to problem+json in one place
(``crosslead_common.api.problems``), consumers and workers see plain exceptions.
"""

from __future__ import annotations

__all__ = ["Conflict", "DomainError", "Forbidden", "InvalidField", "NotFound", "Unauthorized"]


class DomainError(Exception):
    """Something the caller asked for cannot be done; ``detail`` says why."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """The object does not exist, or the caller may not know that it does."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")
        self.what = what


class InvalidField(DomainError):
    """One field of the input, named as the client wrote it (``commission.tiers.0.rate``), is
    not acceptable."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Conflict(DomainError):
    """The object is not in a state that allows the change; ``kind`` names the reason when a
    client may act on it (``lead-being-routed``: retry in a moment)."""

    def __init__(self, detail: str, *, kind: str = "conflict") -> None:
        super().__init__(detail)
        self.kind = kind


class Forbidden(DomainError):
    """The caller is known but may not do this."""


class Unauthorized(DomainError):
    """The caller could not be identified."""
