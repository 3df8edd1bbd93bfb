"""The one session cookie of signed-in people, and the checks every posted form goes through.

The cookie holds a random token; the store keeps only its hash (see core/account_crypto.py).
It is HttpOnly, SameSite=Lax, Secure over TLS (and then named with the `__Host-` prefix, so
no subdomain can plant one), and it carries no expiry of its own: the session ends after a day
without use on the server side, or when the browser closes.

Forms are protected twice: a posted form whose Origin (or Sec-Fetch-Site) says it came from
another site is refused, and a signed-in person's forms must carry the session's CSRF token.
That token is an HMAC of the cookie's token under the CSRF secret the store keeps, so it is
never stored: a copy of the store cannot forge a form without the cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.responses import Response

from onetime.core.accounts import SignedIn
from onetime.core.errors import N_, Forbidden
from onetime.core.views import ANONYMOUS, Caller
from onetime.deps import get_context
from onetime.settings import Settings
from onetime.web.forms import read_form

CSRF_FIELD = "csrf"
_FOREIGN_FORM = N_("This form was sent from another site, so it was refused.")
_STALE_FORM = N_("This form has expired. Please reload the page and try again.")


def cookie_name(settings: Settings) -> str:
    return "__Host-session" if settings.ssl else "session"


async def load_session(request: Request) -> SignedIn | None:
    """The signed-in person behind the request's cookie (looked up once per request)."""
    if hasattr(request.state, "signed_in"):
        signed: SignedIn | None = request.state.signed_in
        return signed
    context = get_context(request)
    token = request.cookies.get(cookie_name(context.settings))
    signed = await context.accounts.session(token) if token and len(token) < 100 else None
    request.state.signed_in = signed
    return signed


def form_token(signed: SignedIn) -> str:
    """The CSRF token that a signed-in person's forms carry (derived, never stored)."""
    digest = hmac.new(signed.csrf.encode(), signed.token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def caller_of(signed: SignedIn | None) -> Caller:
    return signed.caller if signed is not None else ANONYMOUS


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        cookie_name(settings),
        token,
        httponly=True,
        samesite="lax",
        secure=settings.ssl,
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        cookie_name(settings), httponly=True, samesite="lax", secure=settings.ssl, path="/"
    )


def _same_origin(request: Request, settings: Settings) -> bool:
    # Browsers say where a request comes from in Sec-Fetch-Site. Origin is the fallback, but
    # our pages send no referrer, and then browsers send "Origin: null" even for our own forms.
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True  # not a browser that tells: scripts and old browsers
    ours = {urlsplit(settings.base_url).netloc, request.headers.get("host", "")}
    return urlsplit(origin).netloc in ours


async def checked_form(request: Request) -> dict[str, str]:
    """Read a posted form after the cross-site checks; raises Forbidden when one fails."""
    settings = get_context(request).settings
    if not _same_origin(request, settings):
        raise Forbidden(_FOREIGN_FORM, code="cross_site_form")
    form = await read_form(request)
    signed = await load_session(request)
    if signed is not None and not hmac.compare_digest(
        form.get(CSRF_FIELD, "").encode(), form_token(signed).encode()
    ):
        raise Forbidden(_STALE_FORM, code="csrf")
    return form


CurrentSession = Annotated[SignedIn | None, Depends(load_session)]
