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


def N_(message: str) -> str:
    """Mark a message for translation. The catalogs pick it up; the web pages translate it."""
    return message


class OnetimeError(Exception):
    """Base of all domain errors.

    `template` is an English message for people with `{placeholders}`, filled from `params`;
    `message` is the filled-in English text. Pages translate `template` and fill it themselves.
    """

    def __init__(self, message: str, **params: object) -> None:
        self.template = message
        self.params = params
        self.message = message.format(**params) if params else message
        super().__init__(self.message)


class NotFound(OnetimeError):
    """The record is unknown, expired, already read or burned."""


class InvalidInput(OnetimeError):
    """A value cannot be used; `field` names it when there is one."""

    def __init__(self, message: str, field: str | None = None, **params: object) -> None:
        super().__init__(message, **params)
        self.field = field


class WrongPassphrase(OnetimeError):
    """The passphrase is missing or wrong; nothing was consumed."""


class Forbidden(OnetimeError):
    """The caller is not allowed to do this; `code` is stable for programs."""

    def __init__(self, message: str, code: str, **params: object) -> None:
        super().__init__(message, **params)
        self.code = code


class Unauthorized(OnetimeError):
    """Credentials were presented and did not match an account."""


class RateLimited(OnetimeError):
    """Too many attempts from this client or on this record."""

    def __init__(self, message: str, retry_after: int, **params: object) -> None:
        super().__init__(message, **params)
        self.retry_after = max(1, retry_after)


class StoreUnavailable(OnetimeError):
    """The store did not answer; the request can be retried later."""
