"""The pages: create and generate, share/receipt, click-to-reveal, revealed, gone.

GET and HEAD never consume a secret, whoever asks (link-preview bots only GET); revealing
needs the POST that the page's button sends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import segno
from fastapi import APIRouter, Depends, Request
from markupsafe import Markup
from starlette.responses import RedirectResponse, Response

from onetime.api.params import parse_recipients
from onetime.api.serializers import share_base
from onetime.core.errors import (
    N_,
    Forbidden,
    InvalidInput,
    NotFound,
    OnetimeError,
    WrongPassphrase,
)
from onetime.core.passwords import MAX_LENGTH, MIN_LENGTH, CharacterSets
from onetime.core.plans import Plan
from onetime.core.policy import DAY, HOUR, MINUTE, Limits, parse_ttl
from onetime.core.service import ConcealRequest, GenerateRequest
from onetime.core.views import Caller, ReceiptView
from onetime.deps import ClientTag, CurrentSettings, Service, get_context
from onetime.settings import Settings
from onetime.web.render import render
from onetime.web.session import CurrentSession, caller_of, checked_form, load_session

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_session)])
_TTL_CHOICES = (5 * MINUTE, HOUR, 4 * HOUR, DAY, 3 * DAY, 7 * DAY, 14 * DAY, 30 * DAY)
GENERATE_LENGTH = 16  # what the form suggests; the API's default stays Onetime Secret's 12
SYMBOLS_SHOWN = "! # $ % & * + - = ? @ ^ _ ~"
_CONFIRM_BURN = N_("Please confirm that you want to destroy the secret: tick the box.")
_BAD_LENGTH = N_("The length must be between {min} and {max}.")


@dataclass(frozen=True, slots=True)
class FormError:
    """A message for a form, untranslated (templates translate it), and the field it is about."""

    template: str
    params: Mapping[str, object] = field(default_factory=dict)
    field: str | None = None

    @classmethod
    def of(cls, error: OnetimeError, default_field: str | None = None) -> FormError:
        return cls(error.template, error.params, getattr(error, "field", None) or default_field)


def ttl_choices(limits: Limits, plan: Plan) -> list[int]:
    """The lifetimes (in seconds) a plan lets a person pick.

    The usual steps that fit the configured range, plus the default and the maximum, so the
    list is never empty and always holds the lifetime that is preselected.
    """
    longest = limits.max_ttl(plan)
    allowed = {t for t in _TTL_CHOICES if limits.ttl_min <= t <= longest}
    allowed |= {limits.clamp_ttl(None, plan), longest}
    return sorted(allowed)


def _offered(choices: list[int], default: int, ttl: int | None) -> int:
    """The lifetime to preselect: the one picked if it is offered, else the default."""
    return ttl if ttl is not None and ttl in choices else default


def _create_page(
    request: Request,
    settings: Settings,
    status: int = 200,
    *,
    ttl: int | None = None,
    generate_ttl: int | None = None,
    **values: Any,
) -> Response:
    caller = caller_of(getattr(request.state, "signed_in", None))
    service = get_context(request).service
    plan = service.plans.get(caller.plan)
    choices = ttl_choices(service.limits, plan)
    default = service.limits.clamp_ttl(None, plan)
    return render(
        request,
        "index.html",
        status,
        ttl_choices=choices,
        ttl=_offered(choices, default, ttl),
        generate_ttl=_offered(choices, default, generate_ttl),
        may_email=caller.has_account and plan.email_recipients,
        needs_account=not settings.allow_anonymous and not caller.has_account,
        min_length=MIN_LENGTH,
        max_length=MAX_LENGTH,
        symbols_shown=SYMBOLS_SHOWN,
        current_path="/",
        **{"length": GENERATE_LENGTH, "symbols": False, **values},
    )


@router.api_route("/", methods=["GET", "HEAD"])
async def create_form(request: Request, settings: CurrentSettings) -> Response:
    return _create_page(request, settings)


def _creator(settings: Settings, signed: Any) -> Caller:
    caller = caller_of(signed)
    if not caller.has_account and not settings.allow_anonymous:
        raise Forbidden(
            N_("Only signed-in people can create secrets on this service."),
            code="anonymous_disabled",
        )
    return caller


@router.post("/")
async def create(
    request: Request,
    service: Service,
    client: ClientTag,
    settings: CurrentSettings,
    signed: CurrentSession,
) -> Response:
    form = await checked_form(request)
    caller = _creator(settings, signed)
    content = form.get("secret", "")
    recipient = form.get("recipient", "").strip()
    ttl: int | None = None
    try:
        ttl = parse_ttl(form.get("ttl"))
        created = await service.conceal(
            ConcealRequest(
                content=content,
                ttl=ttl,
                passphrase=form.get("passphrase") or None,
                recipients=parse_recipients(recipient) if recipient else (),
            ),
            caller,
            client,
        )
    except (InvalidInput, Forbidden) as error:
        # Keep what the person typed and picked (but never the passphrase) so nothing is lost.
        return _create_page(
            request,
            settings,
            422,
            ttl=ttl,
            error=FormError.of(error, "secret"),
            secret=content,
            recipient=recipient,
        )
    if created.delivery_problem:
        # The secret is safe and its links work; say why the email did not go.
        return _share_page(
            request, settings, created.receipt, created=True, mail_problem=created.delivery_problem
        )
    mailed = "&mailed=1" if recipient else ""
    return RedirectResponse(f"/receipt/{created.receipt.key}?created=1{mailed}", status_code=303)


def _parse_length(value: str | None) -> int:
    text = (value or "").strip()
    if not text:
        return GENERATE_LENGTH
    if not (text.isascii() and text.isdigit()) or len(text) > 4:
        raise InvalidInput(_BAD_LENGTH, field="length", min=MIN_LENGTH, max=MAX_LENGTH)
    return int(text)


@router.api_route("/generate", methods=["GET", "HEAD"])
async def generate_form() -> Response:
    """The generate form lives on the front page; an address typed or reloaded leads there."""
    return RedirectResponse("/#generate", status_code=303)


@router.post("/generate")
async def generate(
    request: Request,
    service: Service,
    client: ClientTag,
    settings: CurrentSettings,
    signed: CurrentSession,
) -> Response:
    """Generate a password, share it, and show it to its creator this once (no redirect)."""
    form = await checked_form(request)
    caller = _creator(settings, signed)
    symbols = bool(form.get("symbols"))
    ttl: int | None = None
    length_text = form.get("length", "")
    try:
        ttl = parse_ttl(form.get("ttl"))
        length = _parse_length(length_text)
        created = await service.generate(
            GenerateRequest(
                length=length,
                sets=CharacterSets(symbols=symbols),
                ttl=ttl,
                passphrase=form.get("passphrase") or None,
            ),
            caller,
            client,
        )
    except InvalidInput as error:
        kept = length_text if length_text.isascii() and len(length_text) <= 4 else ""
        return _create_page(
            request,
            settings,
            422,
            generate_ttl=ttl,
            generate_error=FormError.of(error, "length"),
            length=kept,
            symbols=symbols,
        )
    password = created.generated or ""
    return _share_page(
        request,
        settings,
        created.receipt,
        created=True,
        generated=password,
        generated_rows=min(4, -(-len(password) // 32)),
        # A language switch would reload this page and the password is shown only once.
        once=True,
    )


@router.api_route("/secret/{key}", methods=["GET", "HEAD"])
async def reveal_page(key: str, request: Request, service: Service, client: ClientTag) -> Response:
    try:
        view = await service.preview(key, client)
    except NotFound:
        return _gone(request)
    return render(request, "reveal.html", key=view.key, has_passphrase=view.has_passphrase)


def _gone(request: Request) -> Response:
    # The same page for every key (nothing in it may depend on the address), so unknown,
    # expired, burned and already read cannot be told apart.
    return render(request, "gone.html", 404, current_path="/")


@router.post("/secret/{key}")
async def reveal(key: str, request: Request, service: Service, client: ClientTag) -> Response:
    form = await checked_form(request)
    try:
        view = await service.reveal(key, form.get("passphrase") or None, client)
    except NotFound:
        return _gone(request)
    except WrongPassphrase as error:
        return render(
            request,
            "reveal.html",
            422,
            key=key,
            has_passphrase=True,
            error=FormError.of(error, "passphrase"),
        )
    value = view.value or ""
    return render(
        request,
        "revealed.html",
        value=value,
        lines=min(20, max(3, value.count("\n") + 2 + len(value) // 70)),
        once=True,
    )


@router.api_route("/receipt/{key}", methods=["GET", "HEAD"])
@router.api_route("/private/{key}", methods=["GET", "HEAD"])
async def receipt_page(
    key: str, request: Request, service: Service, client: ClientTag, settings: CurrentSettings
) -> Response:
    view = await service.receipt(key, client)
    return _share_page(
        request,
        settings,
        view,
        created="created" in request.query_params,
        mailed="mailed" in request.query_params,
    )


def qr_svg(url: str) -> Markup:
    """The link as a QR code, an inline SVG we make ourselves: no style attributes, no XML."""
    svg = segno.make(url, error="m").svg_inline(
        scale=1,
        border=2,
        omitsize=True,
        svgclass="qr-code",
        lineclass=None,
        dark="#000",
        light="#fff",
    )
    if "style=" in svg or "<?xml" in svg or "<script" in svg:  # pragma: no cover - segno's output
        raise RuntimeError("unexpected QR code markup")
    svg = re.sub(r"^<svg ", '<svg aria-hidden="true" focusable="false" ', svg)
    return Markup(svg)  # noqa: S704 - generated by segno from our own URL, checked above


def _share_page(
    request: Request,
    settings: Settings,
    view: ReceiptView,
    *,
    created: bool = False,
    status: int = 200,
    error: FormError | None = None,
    **values: Any,
) -> Response:
    """The receipt: after creation it is the share page (link, QR code, receipt link)."""
    share_url = None
    if view.secret_key:
        share_url = f"{share_base(view, settings.base_url)}/secret/{view.secret_key}"
    return render(
        request,
        "receipt.html",
        status,
        receipt=view,
        share_url=share_url,
        qr=qr_svg(share_url) if share_url else None,
        receipt_url=f"{settings.base_url}/receipt/{view.key}",
        created=created,
        error=error,
        current_path=f"/receipt/{view.key}" + ("?created=1" if created else ""),
        **values,
    )


@router.post("/receipt/{key}/burn")
@router.post("/private/{key}/burn")
async def burn(
    key: str, request: Request, service: Service, client: ClientTag, settings: CurrentSettings
) -> Response:
    form = await checked_form(request)
    if not form.get("confirm"):
        view = await service.receipt(key, client)
        if view.is_live:
            error = FormError(_CONFIRM_BURN, field="confirm")
            return _share_page(request, settings, view, status=422, error=error)
        return RedirectResponse(f"/receipt/{key}", status_code=303)
    try:
        await service.burn(key, form.get("passphrase") or None, client)
    except WrongPassphrase as error:
        view = await service.receipt(key)
        return _share_page(
            request, settings, view, status=422, error=FormError.of(error, "passphrase")
        )
    return RedirectResponse(f"/receipt/{key}", status_code=303)
