"""Who is calling the API: an account by HTTP Basic credentials, or nobody.

The username is the account's email address or its id, the password its API token. No
Authorization header means anonymous (where the route allows it); a header that is present but
does not name an account with that token is a 401, never a silent fall-back to anonymous.
Checking the token (in constant time, with a dummy comparison for unknown users) is the
AccountService's job.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.openapi.models import HTTPBase
from fastapi.security.base import SecurityBase

from onetime.core.errors import N_, Forbidden, Unauthorized
from onetime.core.views import ANONYMOUS, Caller
from onetime.deps import get_context, get_settings

# For routes that take an account or nobody: OpenAPI's "Basic, or no security at all".
OPTIONAL_AUTH: dict[str, Any] = {"security": [{}]}


def _basic_credentials(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise Unauthorized(N_("Use HTTP Basic authentication: your email and your API token."))
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except ValueError:  # bad base64 (binascii.Error), non-ASCII text, bytes that are not UTF-8
        raise Unauthorized(N_("The Authorization header is not valid Basic credentials.")) from None
    user, sep, token = decoded.partition(":")
    if not sep or not user:
        raise Unauthorized(N_("The Authorization header is not valid Basic credentials."))
    return user, token


class BasicCredentials(SecurityBase):
    """The (username, token) of the Authorization header, or None without one.

    A SecurityBase so that OpenAPI documents the scheme on the routes that use it; the header
    is read the way this service reads it (FastAPI's HTTPBasic answers errors of its own).
    """

    def __init__(self) -> None:
        self.model = HTTPBase(
            scheme="basic",
            description="Username: your account's email address (or its id). "
            "Password: your API token (made on the account page).",
        )
        self.scheme_name = "basic"

    async def __call__(self, request: Request) -> tuple[str, str] | None:
        header = request.headers.get("authorization")
        return None if header is None else _basic_credentials(header)


Credentials = Annotated[tuple[str, str] | None, Depends(BasicCredentials())]


async def _account(request: Request, credentials: tuple[str, str]) -> Caller:
    user, token = credentials
    # Unauthorized for a wrong or unknown user or token; Forbidden for a suspended account.
    return await get_context(request).accounts.authenticate(user, token)


async def authenticate(request: Request, credentials: Credentials) -> Caller:
    """The caller for routes that allow both accounts and anonymous use."""
    if credentials is None:
        if not get_settings(request).allow_anonymous:
            raise Forbidden(
                N_("This service needs an account for the API."), code="anonymous_disabled"
            )
        return ANONYMOUS
    return await _account(request, credentials)


async def caller_from_headers(request: Request) -> Caller:
    """`authenticate` for code outside FastAPI's dependency injection (the fast lane)."""
    header = request.headers.get("authorization")
    return await authenticate(request, None if header is None else _basic_credentials(header))


async def require_account(request: Request, credentials: Credentials) -> Caller:
    """The caller for routes that need an account."""
    if credentials is None:
        raise Unauthorized(
            N_("This needs an account: send your email and API token with HTTP Basic.")
        )
    return await _account(request, credentials)


def guest(request: Request) -> Caller:
    """The caller for /guest/ routes: always anonymous, and only while anonymous use is on."""
    if not get_settings(request).allow_anonymous:
        raise Forbidden(N_("Guest access is switched off on this service."), code="guest_disabled")
    return ANONYMOUS


AnyCaller = Annotated[Caller, Depends(authenticate)]
AccountCaller = Annotated[Caller, Depends(require_account)]
GuestCaller = Annotated[Caller, Depends(guest)]
