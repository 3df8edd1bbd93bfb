"""API v1: Onetime Secret's frozen legacy API. Form or JSON bodies; errors in the legacy shape."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from onetime.api.auth import AccountCaller, AnyCaller
from onetime.api.params import parse_length, parse_recipients, read_params, text_param
from onetime.api.serializers import v1_receipt
from onetime.core.policy import parse_ttl
from onetime.core.service import ConcealRequest, GenerateRequest
from onetime.deps import ClientTag, CurrentSettings, Service

router = APIRouter(prefix="/api/v1", tags=["v1 (legacy)"])
STATUS = {"status": "nominal", "locale": "en"}


@router.get("/status", summary="Service status")
async def status() -> dict[str, str]:
    return STATUS


@router.get("/authcheck", summary="Check HTTP Basic credentials")
async def authcheck(caller: AccountCaller) -> dict[str, str]:
    return STATUS


@router.post("/share", summary="Share a secret")
@router.post("/create", summary="Share a secret (alias)")
async def share(
    request: Request,
    service: Service,
    caller: AnyCaller,
    client: ClientTag,
    settings: CurrentSettings,
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
    return v1_receipt(created.receipt, settings.base_url)


@router.post("/generate", summary="Generate a password and share it")
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
    return {**v1_receipt(created.receipt, settings.base_url), "value": created.generated}


@router.post("/secret/{key}", summary="Reveal a secret (it is gone afterwards)")
async def reveal(
    key: str, request: Request, service: Service, caller: AnyCaller, client: ClientTag,
    settings: CurrentSettings,
) -> dict[str, Any]:  # fmt: skip
    params = await read_params(request)
    view = await service.reveal(key, text_param(params, "passphrase"), client)
    return {"value": view.value, "secret_key": view.key, "share_domain": settings.base_url}


@router.get("/receipt/recent", summary="Recent receipts of the account")
@router.get("/private/recent", include_in_schema=False)
@router.get("/metadata/recent", include_in_schema=False)
async def recent(caller: AccountCaller) -> list[dict[str, Any]]:
    return []


# One route per documented method: a route with several methods repeats its OpenAPI operationId.
@router.get("/receipt/{key}", summary="Read a receipt")
@router.post("/receipt/{key}", summary="Read a receipt")
@router.api_route("/private/{key}", methods=["GET", "POST"], include_in_schema=False)
@router.api_route("/metadata/{key}", methods=["GET", "POST"], include_in_schema=False)
async def receipt(
    key: str, service: Service, caller: AnyCaller, settings: CurrentSettings
) -> dict[str, Any]:
    return v1_receipt(await service.receipt(key), settings.base_url)


@router.post("/receipt/{key}/burn", summary="Burn the unread secret behind a receipt")
@router.post("/private/{key}/burn", include_in_schema=False)
@router.post("/metadata/{key}/burn", include_in_schema=False)
async def burn(
    key: str, request: Request, service: Service, caller: AnyCaller, client: ClientTag,
    settings: CurrentSettings,
) -> dict[str, Any]:  # fmt: skip
    params = await read_params(request)
    view = await service.burn(key, text_param(params, "passphrase"), client)
    return {"state": v1_receipt(view, settings.base_url), "secret_shortkey": view.secret_shortid}
