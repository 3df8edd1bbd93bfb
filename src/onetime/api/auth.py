"""Who is calling the API: HTTP Basic credentials, or nobody.

Accounts arrive with issue 5. Until then no credentials can match, so any Authorization
header is refused with 401: a wrong header never silently falls back to anonymous.
"""

from __future__ import annotations

import base64
import hmac
from typing import Annotated

from fastapi import Depends, Request

from onetime.core.errors import N_, Forbidden, Unauthorized
from onetime.core.views import ANONYMOUS, Caller
from onetime.deps import get_settings

_DUMMY_TOKEN = b"0" * 64
_BAD_CREDENTIALS = N_("The username or API token is not correct.")


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


def authenticate(request: Request) -> Caller:
    """The caller for routes that allow both accounts and anonymous use."""
    header = request.headers.get("authorization")
    if header is None:
        if not get_settings(request).allow_anonymous:
            raise Forbidden(
                N_("This service needs an account for the API."), code="anonymous_disabled"
            )
        return ANONYMOUS
    _user, token = _basic_credentials(header)
    # No account can match yet; still spend a comparison so timing does not tell users apart.
    hmac.compare_digest(token.encode(), _DUMMY_TOKEN)
    raise Unauthorized(_BAD_CREDENTIALS)


def require_account(request: Request) -> Caller:
    """The caller for routes that need an account."""
    if request.headers.get("authorization") is None:
        raise Unauthorized(
            N_("This needs an account: send your email and API token with HTTP Basic.")
        )
    caller = authenticate(request)
    if not caller.has_account:
        raise Unauthorized(_BAD_CREDENTIALS)
    return caller


def guest(request: Request) -> Caller:
    """The caller for /guest/ routes: always anonymous, and only while anonymous use is on."""
    if not get_settings(request).allow_anonymous:
        raise Forbidden(N_("Guest access is switched off on this service."), code="guest_disabled")
    return ANONYMOUS


AnyCaller = Annotated[Caller, Depends(authenticate)]
AccountCaller = Annotated[Caller, Depends(require_account)]
GuestCaller = Annotated[Caller, Depends(guest)]
