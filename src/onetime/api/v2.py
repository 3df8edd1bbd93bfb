"""API v2: the JSON API integrations use today, and its /guest/ twin for anonymous callers."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from starlette.exceptions import HTTPException

import onetime
from onetime.api.auth import OPTIONAL_AUTH, AccountCaller, AnyCaller, authenticate, guest
from onetime.api.openapi import (
    ACCOUNT,
    GUEST,
    JSON_BODY,
    LOOKUP,
    PathKey,
    V2Created,
    V2Locales,
    V2ReceiptAnswer,
    V2Recent,
    V2SecretAnswer,
    V2SecretStatus,
    V2SecretStatuses,
    V2Status,
    V2Version,
    v2_answers,
    with_key,
)
from onetime.api.params import parse_length, parse_recipients
from onetime.api.serializers import (
    delivery,
    reveal_details,
    v2_receipt,
    v2_receipt_view,
    v2_secret,
)
from onetime.core.errors import N_, InvalidInput, NotFound
from onetime.core.passwords import CharacterSets
from onetime.core.policy import DAY, parse_flag, parse_ttl
from onetime.core.service import ConcealRequest, GenerateRequest
from onetime.core.views import Caller, Created
from onetime.deps import ClientTag, Context, CurrentSettings, Service

MAX_STATUS_IDENTIFIERS = 25
LOCALES = ["en"]

# Loose fields are read by our own parsers (parse_ttl, parse_length, ...), which refuse a bad
# value with a message naming the field. A pydantic union would instead turn `true` into 1 and
# name the union member ("int") in its error rather than the field.
NumberOrDigits = Annotated[
    Any, WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "string"}]})
]
TextOrTexts = Annotated[
    Any,
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]
Flag = Annotated[Any, WithJsonSchema({"anyOf": [{"type": "boolean"}, {"type": "string"}]})]


async def require_json(request: Request) -> None:
    """v2 speaks JSON: a body in another format is refused with 415, not misread."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and not content_type.endswith("json") and (await request.body()).strip():
        raise HTTPException(415, "Send JSON with Content-Type: application/json.")


class Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class CharacterSetsIn(Loose):
    uppercase: bool = True
    lowercase: bool = True
    numbers: bool = True
    symbols: bool = False
    exclude_ambiguous: bool = True


class SecretFields(Loose):
    secret: str | None = Field(None, description="The text to share (conceal only).")
    ttl: NumberOrDigits = Field(
        None, description="Lifetime in seconds; clamped to the allowed range."
    )
    passphrase: str | None = None
    recipient: TextOrTexts = Field(None, description="Email recipients (accounts only).")
    share_domain: str | None = None
    length: NumberOrDigits = Field(None, description="Generated password length (8-128).")
    character_sets: CharacterSetsIn | None = None


class CreateBody(Loose):
    secret: SecretFields


class ContinueBody(Loose):
    continue_: Flag = Field(None, alias="continue")
    passphrase: str | None = None


class StatusBody(Loose):
    identifiers: TextOrTexts = Field(description="Secret keys: comma-separated, or an array.")


class MemoBody(Loose):
    # The service allows 500 characters (422 past that); this bound refuses far longer ones early.
    memo: str | None = Field(
        None, max_length=10_000, description="A private note, at most 500 characters."
    )


def _created(created: Created, settings_base: str, kind: str) -> dict[str, Any]:
    receipt = v2_receipt_view(created.receipt, settings_base)
    secret = v2_secret(created.secret)
    if created.generated is not None:
        secret["secret_value"] = created.generated
    recipients = list(created.receipt.recipients)
    details: dict[str, Any] = {
        "kind": kind,
        "recipient": recipients,
        "recipient_safe": recipients,
    }
    sent = delivery(created)
    if sent is not None:  # ours: whether the email to the recipients went, and if not, why
        details["delivery"] = sent
    return {
        "success": True,
        "record": {"receipt": receipt, "metadata": receipt, "secret": secret, "share_domain": None},
        "details": details,
    }


_CREATE_NOTES = (
    "Anonymous, or an account by HTTP Basic (its email or id, and its API token): an account's "
    "receipts are listed under /receipt/recent and may live up to its plan's longest TTL. "
    "`recipient` (accounts whose plan includes it) emails the share link; `details.delivery` "
    'says `{"sent": true}`, or `{"sent": false, "problem": "…"}` when the email could not be '
    "sent (the secret is made either way)."
)
_GUEST_NOTES = "Anonymous only: no credentials, and no `recipient` (that needs an account)."


def secret_routes(caller_dependency: Any) -> APIRouter:
    """The secret and receipt routes, for a given way of knowing the caller."""
    router = APIRouter(dependencies=[Depends(require_json)])
    CallerDep = Annotated[Caller, Depends(caller_dependency)]
    # Account-or-anonymous routes document Basic as optional; guest routes take no credentials.
    extra = OPTIONAL_AUTH if caller_dependency is authenticate else None
    notes = _CREATE_NOTES if extra else _GUEST_NOTES
    # Who may call: errors about credentials (accounts) or about guest use being off.
    who = ACCOUNT if extra else GUEST
    json_body = (*JSON_BODY, 415)  # require_json refuses other formats
    reveal_query = {
        **(extra or {}),
        "parameters": [
            {
                "name": "continue",
                "in": "query",
                "required": False,
                "description": "true: reveal the secret (it is gone afterwards).",
                "schema": {"anyOf": [{"type": "boolean"}, {"type": "string"}]},
            },
            {
                "name": "passphrase",
                "in": "query",
                "required": False,
                "description": "With continue=true, for a secret that has one.",
                "schema": {"type": "string"},
            },
        ],
    }

    @router.post(
        "/secret/conceal",
        summary="Share a secret",
        description=notes,
        openapi_extra=extra,
        **v2_answers(V2Created, who, json_body, 429),
    )
    async def conceal(
        body: CreateBody,
        service: Service,
        caller: CallerDep,
        client: ClientTag,
        settings: CurrentSettings,
    ) -> dict[str, Any]:
        fields = body.secret
        created = await service.conceal(
            ConcealRequest(
                content=fields.secret or "",
                ttl=parse_ttl(fields.ttl),
                passphrase=fields.passphrase,
                recipients=parse_recipients(fields.recipient),
                share_domain=fields.share_domain or "",
            ),
            caller,
            client,
        )
        return _created(created, settings.base_url, "conceal")

    @router.post(
        "/secret/generate",
        summary="Generate a password and share it",
        description=notes,
        openapi_extra=extra,
        **v2_answers(V2Created, who, json_body, 429),
    )
    async def generate(
        body: CreateBody,
        service: Service,
        caller: CallerDep,
        client: ClientTag,
        settings: CurrentSettings,
    ) -> dict[str, Any]:
        fields = body.secret
        sets = CharacterSets(**(fields.character_sets or CharacterSetsIn()).model_dump())
        created = await service.generate(
            GenerateRequest(
                length=parse_length(fields.length),
                sets=sets,
                ttl=parse_ttl(fields.ttl),
                passphrase=fields.passphrase,
                recipients=parse_recipients(fields.recipient),
                share_domain=fields.share_domain or "",
            ),
            caller,
            client,
        )
        return _created(created, settings.base_url, "generate")

    @router.post(
        "/secret/status",
        summary="State of several secrets",
        openapi_extra=extra,
        **v2_answers(V2SecretStatuses, who, json_body, 429),
    )
    async def many_status(
        body: StatusBody, service: Service, caller: CallerDep, client: ClientTag
    ) -> dict[str, Any]:
        raw = body.identifiers
        items = raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(k, str) for k in items):
            raise InvalidInput(
                N_("identifiers must be a comma-separated string or an array of keys."),
                field="identifiers",
            )
        keys = [k.strip() for k in items if k.strip()]
        if len(keys) > MAX_STATUS_IDENTIFIERS:
            raise InvalidInput(
                f"Ask about at most {MAX_STATUS_IDENTIFIERS} secrets at once.", field="identifiers"
            )
        records = []
        for key in keys:
            try:
                records.append(v2_secret(await service.secret_status(key, client)))
            except NotFound:
                # Echo what was asked, minus what JSON cannot carry out (lone surrogates).
                echo = key.encode("utf-8", errors="replace").decode("utf-8")
                records.append({"identifier": echo, "key": echo, "state": "unknown"})
        return {"success": True, "records": records, "count": len(records)}

    @router.get(
        "/secret/{key}",
        summary="A secret's metadata; reveals it only with continue=true",
        openapi_extra=reveal_query,
        **v2_answers(V2SecretAnswer, who, LOOKUP, 422),
    )
    async def show(
        key: str, request: Request, service: Service, caller: CallerDep, client: ClientTag
    ) -> dict[str, Any]:
        if parse_flag(request.query_params.get("continue")):
            view = await service.reveal(key, request.query_params.get("passphrase"), client)
            return {
                "success": True,
                "record": v2_secret(view),
                "details": reveal_details(view, True),
            }
        view = await service.preview(key, client)
        return {"success": True, "record": v2_secret(view), "details": reveal_details(view, False)}

    @router.post(
        "/secret/{key}/reveal",
        summary="Reveal a secret (it is gone afterwards)",
        openapi_extra=extra,
        **v2_answers(V2SecretAnswer, who, json_body, LOOKUP),
    )
    async def reveal(
        key: str,
        service: Service,
        caller: CallerDep,
        client: ClientTag,
        body: ContinueBody | None = None,
    ) -> dict[str, Any]:
        view = await service.reveal(key, body.passphrase if body else None, client)
        return {"success": True, "record": v2_secret(view), "details": reveal_details(view, True)}

    @router.get(
        "/secret/{key}/status",
        summary="Whether a secret can still be revealed",
        openapi_extra=with_key(extra),  # no 422: see PathKey
        **v2_answers(V2SecretStatus, who, 429),
    )
    async def one_status(
        key: PathKey, service: Service, caller: CallerDep, client: ClientTag
    ) -> dict[str, Any]:
        try:
            view = await service.secret_status(key, client)
        except NotFound:
            return {"success": True, "record": {"state": "unknown"}}
        return {
            "success": True,
            "record": v2_secret(view),
            "details": {"current_expiration": view.remaining},
        }

    @router.get(
        "/receipt/{key}",
        summary="Read a receipt",
        openapi_extra=with_key(extra),  # no 422: see PathKey
        **v2_answers(V2ReceiptAnswer, who, LOOKUP),
    )
    @router.get("/private/{key}", include_in_schema=False)
    async def receipt(
        key: PathKey, service: Service, caller: CallerDep, client: ClientTag,
        settings: CurrentSettings,
    ) -> dict[str, Any]:  # fmt: skip
        view = await service.receipt(key, client)
        return {"success": True, "record": v2_receipt_view(view, settings.base_url), "details": {}}

    @router.post(
        "/receipt/{key}/burn",
        summary="Burn the unread secret behind a receipt",
        description='Needs `{"continue": true}` (422 without it), and the passphrase when the '
        "secret has one. Burning a secret that is gone already answers the receipt as it is.",
        openapi_extra=extra,
        **v2_answers(V2ReceiptAnswer, who, json_body, LOOKUP),
    )
    @router.post("/private/{key}/burn", include_in_schema=False)
    async def burn(
        key: str, service: Service, caller: CallerDep, client: ClientTag, settings: CurrentSettings,
        body: ContinueBody | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        if body is None or not parse_flag(body.continue_):
            raise InvalidInput(
                N_('Confirm the burn by sending {"continue": true}.'), field="continue"
            )
        view = await service.burn(key, body.passphrase, client)
        return {"success": True, "record": v2_receipt_view(view, settings.base_url), "details": {}}

    return router


def build_router() -> APIRouter:
    """All of v2: account-or-anonymous routes, guest routes, and service information."""
    router = APIRouter(prefix="/api/v2", tags=["v2"])

    @router.get("/status", summary="Service status", **v2_answers(V2Status))
    async def status() -> dict[str, Any]:
        return {"success": True, "status": "nominal", "locale": "en"}

    @router.get(
        "/supported-locales", summary="Languages the service speaks", **v2_answers(V2Locales)
    )
    async def supported_locales() -> dict[str, Any]:
        return {"success": True, "locales": LOCALES, "default_locale": "en", "locale": "en"}

    @router.get(
        "/version", summary="Service version (HTTP Basic)", **v2_answers(V2Version, ACCOUNT)
    )
    async def version(caller: AccountCaller) -> dict[str, Any]:
        return {"success": True, "version": onetime.__version__.split("."), "locale": "en"}

    # Before the /receipt/{key} routes: otherwise "recent" would be read as a receipt key.
    @router.get(
        "/receipt/recent",
        summary="Recent receipts of the account (HTTP Basic)",
        description="The account's receipts of the last 30 days, newest first. `details`: "
        "`since` (the oldest creation time listed), `now`, and `locked`: how many entries were "
        "filed under a password the account has since reset, which can no longer be opened. "
        "Alias: /private/recent.",
        **v2_answers(V2Recent, ACCOUNT),
    )
    @router.get("/private/recent", include_in_schema=False)
    async def recent(caller: AccountCaller, context: Context) -> dict[str, Any]:
        listed = await context.accounts.recent(caller)
        records = [v2_receipt(view) for view in listed.receipts]
        now = context.accounts.clock.now()
        return {
            "success": True,
            "records": records,
            "count": len(records),
            "details": {
                "type": "list",
                "since": now - context.accounts.rules.recent_days * DAY,
                "now": now,
                "has_items": bool(records),
                "locked": listed.locked,
            },
        }

    @router.patch(
        "/receipt/{key}",
        summary="Set a receipt's private memo (its owner only)",
        description="A receipt made by an account can be changed only by that account "
        "(HTTP Basic); another caller gets 403 with code `not_owner`.",
        openapi_extra=OPTIONAL_AUTH,
        **v2_answers(V2ReceiptAnswer, ACCOUNT, JSON_BODY, LOOKUP),
    )
    async def memo(
        key: str, body: MemoBody, service: Service, caller: AnyCaller, client: ClientTag,
        settings: CurrentSettings,
    ) -> dict[str, Any]:  # fmt: skip
        view = await service.set_memo(key, body.memo or "", caller, client)
        return {"success": True, "record": v2_receipt_view(view, settings.base_url), "details": {}}

    router.include_router(secret_routes(authenticate))
    router.include_router(secret_routes(guest), prefix="/guest", tags=["v2 guest"])
    return router
