"""The pages: create, share/receipt, click-to-reveal, revealed, gone.

GET and HEAD never consume a secret, whoever asks (link-preview bots only GET); revealing
needs the POST that the page's button sends.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from onetime.api.serializers import share_base
from onetime.core.errors import InvalidInput, NotFound, WrongPassphrase
from onetime.core.policy import DAY, HOUR, MINUTE, natural_duration, parse_ttl
from onetime.core.service import ConcealRequest
from onetime.core.views import ANONYMOUS
from onetime.deps import ClientTag, CurrentSettings, Service
from onetime.web.forms import read_form
from onetime.web.render import render

router = APIRouter(include_in_schema=False)
_TTL_CHOICES = (5 * MINUTE, HOUR, 4 * HOUR, DAY, 3 * DAY, 7 * DAY, 14 * DAY, 30 * DAY)


def ttl_choices(settings: CurrentSettings) -> list[tuple[int, str]]:
    """The lifetimes this person may pick (anonymous until accounts exist).

    The usual steps that fit the configured range, plus the default and the maximum, so the
    list is never empty and always holds the lifetime that is preselected.
    """
    limits = settings.limits()
    longest = limits.max_ttl(has_account=False)
    allowed = {t for t in _TTL_CHOICES if limits.ttl_min <= t <= longest}
    allowed |= {limits.clamp_ttl(None, has_account=False), longest}
    return [(t, natural_duration(t)) for t in sorted(allowed)]


def _create_page(
    request: Request,
    settings: CurrentSettings,
    status: int = 200,
    ttl: int | None = None,
    **values: Any,
) -> Response:
    choices = ttl_choices(settings)
    if ttl not in {seconds for seconds, _ in choices}:
        ttl = settings.limits().clamp_ttl(None, has_account=False)
    return render(request, "index.html", status, ttl_choices=choices, ttl=ttl, **values)


@router.api_route("/", methods=["GET", "HEAD"])
async def create_form(request: Request, settings: CurrentSettings) -> Response:
    return _create_page(request, settings)


@router.post("/")
async def create(
    request: Request, service: Service, client: ClientTag, settings: CurrentSettings
) -> Response:
    form = await read_form(request)
    content = form.get("secret", "")
    ttl: int | None = None
    try:
        ttl = parse_ttl(form.get("ttl"))
        created = await service.conceal(
            ConcealRequest(content=content, ttl=ttl, passphrase=form.get("passphrase") or None),
            ANONYMOUS,
            client,
        )
    except InvalidInput as error:
        # Keep what the person typed and picked (but never the passphrase) so nothing is lost.
        return _create_page(
            request, settings, 422, ttl=ttl, error=error.message, field=error.field, secret=content
        )
    return RedirectResponse(f"/receipt/{created.receipt.key}?created=1", status_code=303)


@router.api_route("/secret/{key}", methods=["GET", "HEAD"])
async def reveal_page(key: str, request: Request, service: Service) -> Response:
    try:
        view = await service.preview(key)
    except NotFound:
        return render(request, "gone.html", 404)
    return render(request, "reveal.html", key=view.key, has_passphrase=view.has_passphrase)


@router.post("/secret/{key}")
async def reveal(key: str, request: Request, service: Service, client: ClientTag) -> Response:
    form = await read_form(request)
    try:
        view = await service.reveal(key, form.get("passphrase") or None, client)
    except NotFound:
        return render(request, "gone.html", 404)
    except WrongPassphrase as error:
        return render(
            request, "reveal.html", 422, key=key, has_passphrase=True, error=error.message
        )
    return render(
        request,
        "revealed.html",
        value=view.value,
        lines=min(20, (view.value or "").count("\n") + 2),
    )


@router.api_route("/receipt/{key}", methods=["GET", "HEAD"])
@router.api_route("/private/{key}", methods=["GET", "HEAD"])
async def receipt_page(
    key: str, request: Request, service: Service, settings: CurrentSettings
) -> Response:
    return await _receipt_response(key, request, service, settings)


async def _receipt_response(
    key: str, request: Request, service: Service, settings: CurrentSettings, error: str | None = None,
    status: int = 200,
) -> Response:  # fmt: skip
    view = await service.receipt(key)
    base = share_base(view, settings.base_url)
    return render(
        request,
        "receipt.html",
        status,
        receipt=view,
        share_url=f"{base}/secret/{view.secret_key}" if view.secret_key else None,
        receipt_url=f"{settings.base_url}/receipt/{view.key}",
        created="created" in request.query_params,
        remaining=natural_duration(view.secret_remaining) if view.secret_key else None,
        error=error,
    )


@router.post("/receipt/{key}/burn")
@router.post("/private/{key}/burn")
async def burn(
    key: str, request: Request, service: Service, client: ClientTag, settings: CurrentSettings
) -> Response:
    form = await read_form(request)
    try:
        await service.burn(key, form.get("passphrase") or None, client)
    except WrongPassphrase as error:
        return await _receipt_response(
            key, request, service, settings, error=error.message, status=422
        )
    return RedirectResponse(f"/receipt/{key}", status_code=303)
