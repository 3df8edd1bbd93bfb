"""Every error the domain raises, so each surface can map them in one place.

OnetimeError
 ├── NotFound           unknown, expired, already read or burned (indistinguishable on purpose)
 ├── InvalidInput       a value a person sent cannot be used (names the field)
 ├── WrongPassphrase    the passphrase did not open the secret; the secret is untouched
 ├── Forbidden          the caller may not do this (carries a machine-readable code)
 ├── Unauthorized       credentials were sent and are wrong
 ├── RateLimited        too many attempts; says when to retry
 └── StoreUnavailable   the store cannot be reached right now
"""

from __future__ import annotations


class OnetimeError(Exception):
    """Base of all domain errors; `message` is written for people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(OnetimeError):
    """The record is unknown, expired, already read or burned."""


class InvalidInput(OnetimeError):
    """A value cannot be used; `field` names it when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class WrongPassphrase(OnetimeError):
    """The passphrase is missing or wrong; nothing was consumed."""


class Forbidden(OnetimeError):
    """The caller is not allowed to do this; `code` is stable for programs."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class Unauthorized(OnetimeError):
    """Credentials were presented and did not match an account."""


class RateLimited(OnetimeError):
    """Too many attempts from this client or on this record."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class StoreUnavailable(OnetimeError):
    """The store did not answer; the request can be retried later."""
