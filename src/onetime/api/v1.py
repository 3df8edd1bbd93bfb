"""API v1: Onetime Secret's frozen legacy API. Form or JSON bodies; errors in the legacy shape."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from onetime.api.auth import OPTIONAL_AUTH, AccountCaller, AnyCaller
from onetime.api.openapi import (
    PathKey,
    V1Burned,
    V1Created,
    V1Receipt,
    V1Revealed,
    V1Status,
    v1_answers,
    with_key,
)
from onetime.api.params import parse_length, parse_recipients, read_params, text_param
from onetime.api.serializers import v1_receipt
from onetime.core.policy import parse_ttl
from onetime.core.service import ConcealRequest, GenerateRequest, SecretService
from onetime.core.views import Caller, Created
from onetime.deps import ClientTag, Context, CurrentSettings, Service

router = APIRouter(prefix="/api/v1", tags=["v1 (legacy)"])
STATUS = {"status": "nominal", "locale": "en"}


_TTL = {
    "anyOf": [{"type": "integer"}, {"type": "string"}],
    "description": "Lifetime in seconds; clamped to the allowed range.",
}
_RECIPIENT = {
    "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
    "description": "Email addresses, comma-separated or repeated (accounts only).",
}


def _extra(
    fields: dict[str, dict[str, Any]] | None = None,
    key: bool = False,
    required: tuple[str, ...] = (),
) -> dict[str, Any]:
    """OpenAPI for a v1 route taking an account or nobody: its path key and its body fields.

    The body is read by read_params: form-encoded or JSON, the same fields (query parameters
    work too, which is why no body is required as such).
    """
    extra: dict[str, Any] = dict(OPTIONAL_AUTH)
    if key:  # v1 answers every error as a legacy 404, never FastAPI's 422: see PathKey
        extra = with_key(extra)
    if fields:
        schema: dict[str, Any] = {"type": "object", "properties": fields}
        if required:
            schema["required"] = list(required)
        extra["requestBody"] = {
            "required": False,
            "content": {
                "application/x-www-form-urlencoded": {"schema": schema},
                "application/json": {"schema": schema},
            },
        }
    return extra


_STRING: dict[str, Any] = {"type": "string"}
_CREATE_FIELDS: dict[str, dict[str, Any]] = {
    "ttl": _TTL,
    "passphrase": _STRING,
    "recipient": _RECIPIENT,
    "share_domain": _STRING,
}
_PASSPHRASE: dict[str, dict[str, Any]] = {"passphrase": _STRING}


@router.get("/status", summary="Service status", **v1_answers(V1Status, store=False))
async def status() -> dict[str, str]:
    return STATUS


@router.get(
    "/authcheck",
    summary="Check HTTP Basic credentials (the status, or an error meaning 401)",
    description="Answers like /status when the email (or account id) and API token match.",
    **v1_answers(V1Status),
)
async def authcheck(caller: AccountCaller) -> dict[str, str]:
    return STATUS


def _created(created: Created, base_url: str, caller: Caller) -> dict[str, Any]:
    body = v1_receipt(created.receipt, base_url, caller)
    if created.generated is not None:
        body["value"] = created.generated
    if created.delivery_problem is not None:  # ours; legacy clients ignore the extra field
        body["delivery_problem"] = created.delivery_problem
    return body


_CREATE_NOTES = (
    "Anonymous, or an account by HTTP Basic (its email or id, and its API token): an account's "
    "receipts are listed under /receipt/recent and may live up to its plan's longest TTL. "
    "`recipient` (accounts whose plan includes it) emails the share link; if that email could "
    "not be sent, the secret is still made and the answer has a `delivery_problem`."
)


_SHARE = _extra(
    {"secret": {"type": "string", "minLength": 1, "description": "The text to share."}}
    | _CREATE_FIELDS,
    required=("secret",),
)


@router.post(
    "/share",
    summary="Share a secret",
    description=_CREATE_NOTES,
    openapi_extra=_SHARE,
    **v1_answers(V1Created, body=True),
)
@router.post(
    "/create",
    summary="Share a secret (alias)",
    description=_CREATE_NOTES,
    openapi_extra=_SHARE,
    **v1_answers(V1Created, body=True),
)
async def share(
    request: Request,
    service: Service,
    caller: AnyCaller,
    client: ClientTag,
    settings: CurrentSettings,
) -> dict[str, Any]:
    return await share_answer(request, service, caller, client, settings.base_url)


@router.post(
    "/generate",
    summary="Generate a password and share it",
    description=_CREATE_NOTES,
    openapi_extra=_extra(
        {
            "length": {
                "anyOf": [{"type": "integer"}, {"type": "string"}],
                "description": "Password length (default 12, at most 128).",
            },
            **_CREATE_FIELDS,
        }
    ),
    **v1_answers(V1Created, body=True),
)
async def generate(
    request: Request,
    service: Service,
    caller: AnyCaller,
    client: ClientTag,
    settings: CurrentSettings,
) -> dict[str, Any]:
    params = await read_params(request)
    created = await service.generate(
        GenerateRequest(
            length=parse_length(params.get("length")),
            ttl=parse_ttl(params.get("ttl")),
            passphrase=text_param(params, "passphrase"),
            recipients=parse_recipients(params.get("recipient")),
            share_domain=text_param(params, "share_domain") or "",
        ),
        caller,
        client,
    )
    return _created(created, settings.base_url, caller)


@router.post(
    "/secret/{key}",
    summary="Reveal a secret (it is gone afterwards)",
    openapi_extra=_extra(_PASSPHRASE, key=True),
    **v1_answers(V1Revealed, body=True),
)
async def reveal(
    key: PathKey, request: Request, service: Service, caller: AnyCaller, client: ClientTag,
    settings: CurrentSettings,
) -> dict[str, Any]:  # fmt: skip
    return await reveal_answer(request, key, service, client, settings.base_url)


# Before /receipt/{key}: otherwise "recent" would be read as a receipt key.
@router.get(
    "/receipt/recent",
    summary="Recent receipts of the account (HTTP Basic)",
    description="The account's receipts of the last 30 days, newest first, without the secrets' "
    "keys. Aliases: /private/recent, /metadata/recent.",
    **v1_answers(list[V1Receipt]),
)
@router.get("/private/recent", include_in_schema=False)
@router.get("/metadata/recent", include_in_schema=False)
async def recent(
    caller: AccountCaller, context: Context, settings: CurrentSettings
) -> list[dict[str, Any]]:
    listed = await context.accounts.recent(caller)
    return [v1_receipt(view, settings.base_url, caller, listed=True) for view in listed.receipts]


# One route per documented method: a route with several methods repeats its OpenAPI operationId.
@router.get(
    "/receipt/{key}",
    summary="Read a receipt",
    openapi_extra=_extra(key=True),
    **v1_answers(V1Receipt),
)
@router.post(
    "/receipt/{key}",
    summary="Read a receipt",
    openapi_extra=_extra(key=True),
    **v1_answers(V1Receipt, body=True),
)
@router.api_route("/private/{key}", methods=["GET", "POST"], include_in_schema=False)
@router.api_route("/metadata/{key}", methods=["GET", "POST"], include_in_schema=False)
async def receipt(
    key: PathKey, service: Service, caller: AnyCaller, client: ClientTag, settings: CurrentSettings
) -> dict[str, Any]:
    return await receipt_answer(key, service, caller, client, settings.base_url)


@router.post(
    "/receipt/{key}/burn",
    summary="Burn the unread secret behind a receipt",
    openapi_extra=_extra(_PASSPHRASE, key=True),
    **v1_answers(V1Burned, body=True),
)
@router.post("/private/{key}/burn", include_in_schema=False)
@router.post("/metadata/{key}/burn", include_in_schema=False)
async def burn(
    key: PathKey, request: Request, service: Service, caller: AnyCaller, client: ClientTag,
    settings: CurrentSettings,
) -> dict[str, Any]:  # fmt: skip
    params = await read_params(request)
    view = await service.burn(key, text_param(params, "passphrase"), client)
    state = v1_receipt(view, settings.base_url, caller)
    return {"state": state, "secret_shortkey": view.secret_shortid}


# The answers of the busiest routes. The fast lane (api/fastlane.py) serves them too, without
# FastAPI's routing and dependency injection; the routes above stay for everything else.


async def share_answer(
    request: Request, service: SecretService, caller: Caller, client: str, base_url: str
) -> dict[str, Any]:
    params = await read_params(request)
    created = await service.conceal(
        ConcealRequest(
            content=text_param(params, "secret") or "",
            ttl=parse_ttl(params.get("ttl")),
            passphrase=text_param(params, "passphrase"),
            recipients=parse_recipients(params.get("recipient")),
            share_domain=text_param(params, "share_domain") or "",
        ),
        caller,
        client,
    )
    return _created(created, base_url, caller)


async def reveal_answer(
    request: Request, key: str, service: SecretService, client: str, base_url: str
) -> dict[str, Any]:
    params = await read_params(request)
    view = await service.reveal(key, text_param(params, "passphrase"), client)
    return {"value": view.value, "secret_key": view.key, "share_domain": base_url}


async def receipt_answer(
    key: str, service: SecretService, caller: Caller, client: str, base_url: str
) -> dict[str, Any]:
    return v1_receipt(await service.receipt(key, client), base_url, caller)
