"""The account pages: sign up, confirm, sign in and out, a forgotten password, the account page
(preferences, password, email address, API token, export, deletion) and the recent list.

Links in mails lead to a page with a button: GET never uses a link up (mail scanners only GET),
the POST that the button sends does. Every form goes through `checked_form` (same-site check,
and the session's CSRF token once someone is signed in). A form with a problem comes back with
the message and what was typed (never a password), under the status that says what went wrong.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from onetime.core.account_records import LinkPurpose
from onetime.core.accounts import AccountService, SignedIn
from onetime.core.errors import N_, Forbidden, InvalidInput, NotFound, OnetimeError, RateLimited
from onetime.deps import ClientTag, CurrentSettings, get_context
from onetime.http.errors import problem_for
from onetime.web import i18n
from onetime.web.pages import FormError
from onetime.web.preferences import safe_next
from onetime.web.render import render, request_locale
from onetime.web.session import (
    CurrentSession,
    checked_form,
    clear_session_cookie,
    cookie_name,
    load_session,
    set_session_cookie,
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_session)])
_PAGE = ["GET", "HEAD"]
_MAX_TOKEN = 100  # link tokens are 43 characters; anything much longer is not one of ours
_EXPORT_NAME = "onetime-account.json"

# Notes a page shows after a redirect, chosen by a fixed name in the address (never free text).
_SIGN_IN_NOTES = {
    "verified": N_("Your email address is confirmed. You can sign in now."),
    "ready": N_("Your account is ready. Sign in to start using it."),
    "reset": N_(
        "Your new password is set. Sign in with it. For your safety, every session was "
        "signed out and your API token was revoked: make a new one on your account page if "
        "you need it. Secrets you shared before the reset stay safe, but your recent list "
        "can no longer show them."
    ),
    "email": N_("Your new email address is confirmed. Sign in with it from now on."),
}
_ACCOUNT_NOTES = {
    "preferences": N_("Your preferences are saved."),
    "password": N_("Your password is changed."),
    "email-sent": N_(
        "We sent a confirmation link to your new address. Your address changes when you open "
        "that link; until then, keep signing in with the current one."
    ),
    "email": N_("Your new email address is confirmed."),
}
_CONFIRM_DELETE = N_("Please tick the box to confirm that you want to delete your account.")
_NEED_EMAIL = N_("Please type your email address.")
_MAIL_FAILED = N_("We could not send the confirmation email: {problem}")


def get_accounts(request: Request) -> AccountService:
    return get_context(request).accounts


Accounts = Annotated[AccountService, Depends(get_accounts)]


# -- small helpers ----------------------------------------------------------------------------


def _status(error: OnetimeError) -> int:
    return problem_for(error).status


def _with_retry(response: Response, error: OnetimeError) -> Response:
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _local_path(value: str | None) -> str | None:
    """`value` if it is a path on this site, else None."""
    return value if value and safe_next(value) == value else None


def _to_sign_in(request: Request, back_to: str) -> Response:
    """Send someone who is not signed in to the sign-in form, and back here afterwards."""
    response = RedirectResponse(f"/signin?next={quote(back_to, safe='/')}", status_code=303)
    if request.cookies.get(cookie_name(get_context(request).settings)):
        # The cookie names a session that ended: no need to keep sending it.
        clear_session_cookie(response, get_context(request).settings)
    return response


def _usable_token(token: str) -> str:
    if not token or len(token) > _MAX_TOKEN:
        raise NotFound(N_("This link does not work any more: it was used already, or it expired."))
    return token


def _bad_link(request: Request, error: OnetimeError) -> Response:
    """The page for a link from a mail that does not work (any more)."""
    return render(
        request,
        "link_gone.html",
        _status(error),
        error=FormError.of(error),
        current_path="/",  # the address holds the link's token
    )


# -- signing up -------------------------------------------------------------------------------


def _signup_page(request: Request, status: int = 200, **values: Any) -> Response:
    settings = get_context(request).settings
    if not settings.signup_enabled:
        return render(request, "signup.html", 403, closed=True, current_path="/signup")
    return render(request, "signup.html", status, current_path="/signup", **values)


@router.api_route("/signup", methods=_PAGE)
async def signup_form(request: Request) -> Response:
    return _signup_page(request)


@router.post("/signup")
async def signup(request: Request, accounts: Accounts, client: ClientTag) -> Response:
    form = await checked_form(request)
    if not accounts.rules.signup_enabled:
        return _signup_page(request)
    email = form.get("email", "").strip()
    try:
        made = await accounts.sign_up(
            email, form.get("password", ""), request_locale(request), client
        )
    except (InvalidInput, Forbidden, RateLimited) as error:
        field = "email" if getattr(error, "code", None) == "email_domain_not_allowed" else None
        response = _signup_page(
            request, _status(error), error=FormError.of(error, field), email=email
        )
        return _with_retry(response, error)
    if made.account.verified:  # auto-verify: nothing to confirm
        return RedirectResponse("/signin?done=ready", status_code=303)
    return render(
        request,
        "signup_sent.html",
        email=made.account.email,
        problem=made.delivery_problem,
        current_path="/signup",
    )


@router.api_route("/account/verify/{token}", methods=_PAGE)
async def verify_page(token: str, request: Request, accounts: Accounts) -> Response:
    """Shows the confirm button; a GET (a mail scanner's, say) never uses the link."""
    try:
        account = await accounts.check_link(_usable_token(token), LinkPurpose.VERIFY)
    except NotFound as error:
        return _bad_link(request, error)
    return render(
        request,
        "link_confirm.html",
        purpose="verify",
        action=f"/account/verify/{token}",
        email=account.email,
    )


@router.post("/account/verify/{token}")
async def verify(token: str, request: Request, accounts: Accounts) -> Response:
    await checked_form(request)
    try:
        await accounts.verify(_usable_token(token))
    except NotFound as error:
        return _bad_link(request, error)
    return RedirectResponse("/signin?done=verified", status_code=303)


# -- signing in and out -----------------------------------------------------------------------


def _signin_page(request: Request, status: int = 200, **values: Any) -> Response:
    return render(request, "signin.html", status, current_path="/signin", **values)


@router.api_route("/signin", methods=_PAGE)
async def signin_form(request: Request) -> Response:
    done = request.query_params.get("done", "")
    return _signin_page(
        request,
        notice=_SIGN_IN_NOTES.get(done),
        next=_local_path(request.query_params.get("next")) or "",
    )


@router.post("/signin")
async def signin(
    request: Request, accounts: Accounts, client: ClientTag, settings: CurrentSettings
) -> Response:
    form = await checked_form(request)
    email = form.get("email", "").strip()
    next_path = _local_path(form.get("next"))
    try:
        signed = await accounts.sign_in(email, form.get("password", ""), client)
    except OnetimeError as error:
        response = _signin_page(
            request,
            _status(error),
            error=FormError.of(error),
            email=email,
            next=next_path or "",
        )
        return _with_retry(response, error)
    # A new session every time: whatever session this browser had before ends here.
    old = request.cookies.get(cookie_name(settings))
    if old and len(old) <= _MAX_TOKEN:
        await accounts.sign_out(old)
    response = RedirectResponse(next_path or "/account", status_code=303)
    set_session_cookie(response, signed.token, settings)
    return response


@router.post("/signout")
async def signout(
    request: Request, accounts: Accounts, settings: CurrentSettings, signed: CurrentSession
) -> Response:
    await checked_form(request)
    if signed is not None:
        await accounts.sign_out(signed.token)
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(response, settings)
    return response


# -- a forgotten password ---------------------------------------------------------------------


@router.api_route("/forgot", methods=_PAGE)
async def forgot_form(request: Request) -> Response:
    return render(request, "forgot.html", current_path="/forgot")


@router.post("/forgot")
async def forgot(request: Request, accounts: Accounts, client: ClientTag) -> Response:
    form = await checked_form(request)
    email = form.get("email", "").strip()
    try:
        if not email:
            raise InvalidInput(_NEED_EMAIL, field="email")
        await accounts.request_reset(email, client)
    except (InvalidInput, RateLimited) as error:
        response = render(
            request,
            "forgot.html",
            _status(error),
            error=FormError.of(error, "email"),
            email=email,
            current_path="/forgot",
        )
        return _with_retry(response, error)
    # The same answer whether or not the address has an account.
    valid_for = accounts.rules.link_valid
    return render(
        request, "forgot.html", sent=True, email=email, valid_for=valid_for, current_path="/forgot"
    )


@router.api_route("/account/reset/{token}", methods=_PAGE)
async def reset_form(token: str, request: Request, accounts: Accounts) -> Response:
    try:
        account = await accounts.check_link(_usable_token(token), LinkPurpose.RESET)
    except NotFound as error:
        return _bad_link(request, error)
    return render(request, "reset.html", action=f"/account/reset/{token}", email=account.email)


@router.post("/account/reset/{token}")
async def reset(
    token: str, request: Request, accounts: Accounts, signed: CurrentSession
) -> Response:
    form = await checked_form(request)
    try:
        account = await accounts.reset_password(_usable_token(token), form.get("password", ""))
    except NotFound as error:
        return _bad_link(request, error)
    except InvalidInput as error:
        try:
            account = await accounts.check_link(token, LinkPurpose.RESET)
        except NotFound as gone:
            return _bad_link(request, gone)
        return render(
            request,
            "reset.html",
            _status(error),
            action=f"/account/reset/{token}",
            email=account.email,
            error=FormError.of(error, "password"),
        )
    response = RedirectResponse("/signin?done=reset", status_code=303)
    if signed is not None and signed.account.id == account.id:
        # Every session of the account ended, this browser's too: drop its cookie.
        clear_session_cookie(response, get_context(request).settings)
    return response


# -- the account page -------------------------------------------------------------------------


async def _account_page(
    request: Request,
    signed: SignedIn,
    status: int = 200,
    *,
    errors: dict[str, FormError] | None = None,
    **values: Any,
) -> Response:
    context = get_context(request)
    # The session's copy may be older than a change made in this very request.
    account = await context.accounts.get(signed.account.id) or signed.account
    plan = context.service.plans.get(account.plan)
    return render(
        request,
        "account.html",
        status,
        account=account,
        plan=plan,
        longest=context.settings.limits().max_ttl(plan),
        has_key=signed.account_key is not None,
        errors=errors or {},
        current_path="/account",
        **values,
    )


async def _account_error(
    request: Request,
    signed: SignedIn,
    section: str,
    error: OnetimeError,
    field: str | None = None,
    **kept: Any,
) -> Response:
    """The account page with one form's problem; `field` is that form's control it is about."""
    problem = FormError(error.template, error.params, field)
    response = await _account_page(
        request, signed, _status(error), errors={section: problem}, **kept
    )
    return _with_retry(response, error)


@router.api_route("/account", methods=_PAGE)
async def account_page(request: Request, signed: CurrentSession) -> Response:
    if signed is None:
        return _to_sign_in(request, "/account")
    return await _account_page(
        request, signed, notice=_ACCOUNT_NOTES.get(request.query_params.get("done", ""))
    )


@router.post("/account/preferences")
async def save_preferences(
    request: Request, accounts: Accounts, signed: CurrentSession
) -> Response:
    form = await checked_form(request)
    if signed is None:
        return _to_sign_in(request, "/account")
    language = form.get("lang")
    await accounts.set_preferences(
        signed.account,
        language if language in i18n.LOCALES else None,
        bool(form.get("notify")),
    )
    return RedirectResponse("/account?done=preferences", status_code=303)


@router.post("/account/password")
async def change_password(request: Request, accounts: Accounts, signed: CurrentSession) -> Response:
    form = await checked_form(request)
    if signed is None:
        return _to_sign_in(request, "/account")
    try:
        await accounts.change_password(
            signed, form.get("current_password", ""), form.get("new_password", "")
        )
    except OnetimeError as error:
        field = "current_password" if _status(error) == 401 else "new_password"
        return await _account_error(request, signed, "password", error, field)
    return RedirectResponse("/account?done=password", status_code=303)


@router.post("/account/email")
async def change_email(request: Request, accounts: Accounts, signed: CurrentSession) -> Response:
    form = await checked_form(request)
    if signed is None:
        return _to_sign_in(request, "/account")
    new_email = form.get("email", "").strip()
    try:
        problem = await accounts.request_email_change(signed, form.get("password", ""), new_email)
    except OnetimeError as error:
        field = "password" if _status(error) == 401 else "email"
        return await _account_error(request, signed, "email", error, field, new_email=new_email)
    if problem:
        # No mail, no link: nothing changes. 503: the mail service did not take it.
        unsent = FormError(_MAIL_FAILED, {"problem": problem})
        return await _account_page(
            request, signed, 503, errors={"email": unsent}, new_email=new_email
        )
    return RedirectResponse("/account?done=email-sent", status_code=303)


@router.api_route("/account/email/{token}", methods=_PAGE)
async def email_change_page(token: str, request: Request, accounts: Accounts) -> Response:
    try:
        await accounts.check_link(_usable_token(token), LinkPurpose.EMAIL_CHANGE)
    except NotFound as error:
        return _bad_link(request, error)
    return render(request, "link_confirm.html", purpose="email", action=f"/account/email/{token}")


@router.post("/account/email/{token}")
async def confirm_email_change(
    token: str, request: Request, accounts: Accounts, signed: CurrentSession
) -> Response:
    await checked_form(request)
    try:
        await accounts.confirm_email_change(_usable_token(token))
    except (NotFound, InvalidInput) as error:
        return _bad_link(request, error)
    target = "/account?done=email" if signed is not None else "/signin?done=email"
    return RedirectResponse(target, status_code=303)


@router.post("/account/token")
async def new_token(request: Request, accounts: Accounts, signed: CurrentSession) -> Response:
    """Make (or replace) the API token and show it this once: no redirect, nothing cached."""
    await checked_form(request)
    if signed is None:
        return _to_sign_in(request, "/account")
    try:
        token = await accounts.new_api_token(signed)
    except OnetimeError as error:
        return await _account_error(request, signed, "token", error)
    # A language switch would reload the page, and the token is shown only once.
    return await _account_page(request, signed, new_token=token, once=True)


@router.api_route("/account/export", methods=_PAGE)
async def export(request: Request, accounts: Accounts, signed: CurrentSession) -> Response:
    if signed is None:
        return _to_sign_in(request, "/account")
    data = await accounts.export(signed)
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False) + "\n",
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{_EXPORT_NAME}"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/account/delete")
async def delete_account(
    request: Request, accounts: Accounts, settings: CurrentSettings, signed: CurrentSession
) -> Response:
    form = await checked_form(request)
    if signed is None:
        return _to_sign_in(request, "/account")
    if not form.get("confirm"):
        unticked = FormError(_CONFIRM_DELETE, field="confirm")
        return await _account_page(request, signed, 422, errors={"delete": unticked})
    try:
        await accounts.delete(signed, form.get("password", ""))
    except OnetimeError as error:
        return await _account_error(request, signed, "delete", error, "password")
    response = RedirectResponse("/account/deleted", status_code=303)
    clear_session_cookie(response, settings)
    return response


@router.api_route("/account/deleted", methods=_PAGE)
async def deleted(request: Request) -> Response:
    return render(request, "account_deleted.html")


# -- the recent list --------------------------------------------------------------------------


@router.api_route("/account/recent", methods=_PAGE)
async def recent(request: Request, accounts: Accounts, signed: CurrentSession) -> Response:
    if signed is None:
        return _to_sign_in(request, "/account/recent")
    found = await accounts.recent(signed.caller)
    return render(
        request,
        "recent.html",
        receipts=found.receipts,
        locked=found.locked,
        days=accounts.rules.recent_days,
    )
