"""The API's OpenAPI document: what the routes answer, and the parameters FastAPI cannot see.

The routes return plain dicts built by api/serializers.py (and errors rendered by
http/errors.py); the shapes here only describe them. FastAPI does not validate or filter the
answers against these shapes (`response_model=None`): tests/security/test_schema.py checks, with
generated requests, that every answer has a documented status, content type, headers and body.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from fastapi import Depends, Request
from pydantic import Field
from typing_extensions import TypedDict  # pydantic reads typing.TypedDict only from Python 3.12

Responses = dict[int | str, dict[str, Any]]

# -- shared fields ------------------------------------------------------------------------------

Epoch = Annotated[int, Field(description="Seconds since 1970-01-01 UTC.")]
Seconds = Annotated[int, Field(ge=0, description="A duration in seconds.")]
V1State = Literal["new", "viewed", "received", "burned", "expired", "orphaned"]
ReceiptStateName = Literal["new", "previewed", "revealed", "burned", "expired", "orphaned"]
SecretStateName = Literal["new", "previewed", "revealed"]
Kind = Literal["conceal", "generate"]


class Health(TypedDict):
    status: Literal["ok", "unavailable"]
    store: Literal["ok", "unreachable"]


# -- v1 -----------------------------------------------------------------------------------------


class V1Status(TypedDict):
    status: str
    locale: str


class V1Receipt(TypedDict):
    """OTS's receipt ("metadata") hash. Without `secret_key` once the secret is gone or in
    lists; with `received` instead of `secret_ttl` once it was read."""

    custid: Annotated[str, Field(description='The owner\'s email (to the owner), or "anon".')]
    metadata_key: str
    secret_key: NotRequired[str]
    ttl: Seconds
    metadata_ttl: Seconds
    secret_ttl: NotRequired[Seconds]
    metadata_url: str
    state: V1State
    updated: Epoch
    created: Epoch
    received: NotRequired[Epoch | None]
    recipient: Annotated[list[str], Field(description="Masked addresses.")]
    share_domain: str
    passphrase_required: bool
    identifier: str
    secret_identifier: NotRequired[str]
    has_passphrase: bool
    recipients: list[str]
    receipt_ttl: Seconds
    receipt_url: str


class V1Created(V1Receipt):
    value: NotRequired[Annotated[str, Field(description="The generated password (generate).")]]
    delivery_problem: NotRequired[
        Annotated[str, Field(description="Why the email to the recipient was not sent.")]
    ]


class V1Revealed(TypedDict):
    value: str
    secret_key: str
    share_domain: Annotated[str, Field(description="The service's base URL.")]


class V1Burned(TypedDict):
    state: V1Receipt
    secret_shortkey: str


class V1Error(TypedDict):
    """OTS's legacy error; the real status is in the X-OTS-Intended-Status header."""

    message: str
    secret_key: NotRequired[Annotated[str, Field(description="The key asked for (unknown).")]]


# -- v2 -----------------------------------------------------------------------------------------


class V2Status(TypedDict):
    success: bool
    status: str
    locale: str


class V2Locales(TypedDict):
    success: bool
    locales: list[str]
    default_locale: str
    locale: str


class V2Version(TypedDict):
    success: bool
    version: list[str]
    locale: str


class V2Secret(TypedDict):
    """A secret as its link holder sees it; `secret_value` only after a reveal."""

    identifier: str
    key: str
    shortid: str
    state: SecretStateName
    lifespan: Seconds
    secret_ttl: Seconds
    has_passphrase: bool
    created: Epoch
    updated: Epoch
    is_previewed: bool
    is_viewed: bool
    is_revealed: bool
    is_received: bool
    secret_value: NotRequired[str]


class V2UnknownSecret(TypedDict):
    """A secret that cannot be found (any more); /secret/status echoes the key asked for."""

    state: Literal["unknown"]
    identifier: NotRequired[str]
    key: NotRequired[str]


class V2Receipt(TypedDict):
    identifier: str
    key: str
    shortid: str
    owner_id: str | None
    kind: Kind
    secret_identifier: Annotated[str | None, Field(description="While the secret exists.")]
    secret_shortid: str
    state: ReceiptStateName
    secret_ttl: Seconds
    metadata_ttl: Seconds
    receipt_ttl: Seconds
    lifespan: Seconds
    share_domain: str | None
    created: Epoch
    updated: Epoch
    shared: Epoch
    previewed: Epoch | None
    viewed: Epoch | None
    revealed: Epoch | None
    received: Epoch | None
    burned: Epoch | None
    recipients: list[str]
    memo: str | None
    has_passphrase: bool
    is_previewed: bool
    is_viewed: bool
    is_received: bool
    is_revealed: bool
    is_burned: bool
    is_expired: bool
    is_orphaned: bool
    is_destroyed: bool


class V2ReceiptView(V2Receipt):
    """A receipt with the links and words its page needs."""

    secret_state: Literal["new", "previewed"] | None
    natural_expiration: Annotated[str, Field(description='Like "1 hour".')]
    expiration: Epoch
    expiration_in_seconds: Seconds
    share_path: str | None
    burn_path: str
    receipt_path: str
    share_url: str | None
    receipt_url: str
    burn_url: str


class V2CreatedRecord(TypedDict):
    receipt: V2ReceiptView
    metadata: Annotated[V2ReceiptView, Field(description="The receipt again (its older name).")]
    secret: V2Secret
    share_domain: None


class V2Delivery(TypedDict):
    sent: bool
    problem: NotRequired[str]


class V2CreatedDetails(TypedDict):
    kind: Kind
    recipient: list[str]
    recipient_safe: list[str]
    delivery: NotRequired[V2Delivery]


class V2Created(TypedDict):
    success: bool
    record: V2CreatedRecord
    details: V2CreatedDetails


# "continue" is a keyword, hence the functional form.
V2RevealDetails = TypedDict(
    "V2RevealDetails",
    {
        "continue": bool,
        "is_owner": bool,
        "show_secret": bool,
        "correct_passphrase": bool,
        "display_lines": int,
        "one_liner": bool | None,
    },
)


class V2SecretAnswer(TypedDict):
    success: bool
    record: V2Secret
    details: V2RevealDetails


class V2Expiration(TypedDict):
    current_expiration: Seconds


class V2SecretStatus(TypedDict):
    success: bool
    record: V2Secret | V2UnknownSecret
    details: NotRequired[V2Expiration]


class V2SecretStatuses(TypedDict):
    success: bool
    records: list[V2Secret | V2UnknownSecret]
    count: int


class V2Empty(TypedDict):
    pass


class V2ReceiptAnswer(TypedDict):
    success: bool
    record: V2ReceiptView
    details: V2Empty


class V2RecentDetails(TypedDict):
    type: Literal["list"]
    since: Epoch
    now: Epoch
    has_items: bool
    locked: Annotated[int, Field(ge=0, description="Entries that can no longer be opened.")]


class V2Recent(TypedDict):
    success: bool
    records: list[V2Receipt]
    count: int
    details: V2RecentDetails


class _ErrorFields(TypedDict):
    error: Annotated[str, Field(description="A message for people.")]
    error_type: Annotated[
        str,
        Field(
            description="The kind, for programs: not_found, invalid_input, wrong_passphrase, "
            "invalid_json, unsupported_media_type, too_large, unauthorized, forbidden, "
            "rate_limited, unavailable."
        ),
    ]
    field: NotRequired[Annotated[str, Field(description="The field the error is about.")]]


class ApiError(_ErrorFields):
    """An error of v2 (and of everything else under /api except v1)."""

    code: NotRequired[str]
    retry_after: NotRequired[Annotated[int, Field(ge=1)]]


class ApiForbidden(_ErrorFields):
    code: Annotated[
        str,
        Field(
            description="Why: anonymous_disabled, guest_disabled, account_suspended, not_owner, "
            "recipient_needs_account, recipient_not_in_plan."
        ),
    ]


class ApiRateLimited(_ErrorFields):
    retry_after: Annotated[int, Field(ge=1, description="Seconds to wait.")]


# -- the key in the path -----------------------------------------------------------------------


async def _path_key(request: Request) -> str:
    key: str = request.path_params["key"]
    return key


# The key in the path, read without FastAPI's validation (a string cannot fail it anyway). A
# declared path parameter would make FastAPI document a 422 with its own error shape for routes
# that never send one; routes using this declare the parameter with `with_key`.
PathKey = Annotated[str, Depends(_path_key)]
KEY_PARAMETER: dict[str, Any] = {
    "name": "key",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
}


def with_key(extra: dict[str, Any] | None) -> dict[str, Any]:
    """`openapi_extra` plus the path parameter `key`."""
    extra = dict(extra or {})
    extra["parameters"] = [KEY_PARAMETER, *extra.get("parameters", [])]
    return extra


# -- responses ----------------------------------------------------------------------------------

_RETRY_AFTER = {"description": "Seconds to wait.", "schema": {"type": "integer", "minimum": 1}}
_CHALLENGE = {"description": "The Basic challenge.", "schema": {"type": "string"}}

# OTS's legacy clients know these intended statuses; nothing else is ever sent in the header.
_INTENDED = [400, 401, 403, 404, 429]

V1_ERRORS: Responses = {
    404: {
        "model": V1Error,
        "description": "Any error, in OTS's legacy shape: the real status is in "
        "X-OTS-Intended-Status (400 unusable input, 401 wrong credentials, 403 not allowed, "
        '404 unknown secret or receipt, or wrong passphrase: "Unknown secret", 429 too many '
        "attempts).",
        "headers": {
            "X-OTS-Intended-Status": {
                "required": True,
                "description": "What the status would be outside the legacy API.",
                "schema": {"type": "integer", "enum": _INTENDED},
            },
            "Retry-After": {**_RETRY_AFTER, "description": "With 429: seconds to wait."},
            "WWW-Authenticate": {**_CHALLENGE, "description": "With 401: the Basic challenge."},
        },
    },
    503: {
        "model": V1Error,
        "description": "The store is unavailable for a moment; try again.",
        "headers": {
            "X-OTS-Intended-Status": {
                "required": True,
                "schema": {"type": "integer", "enum": [503]},
            }
        },
    },
}

V1_TOO_LARGE: Responses = {
    413: {
        "model": V1Error,
        "description": "The request body is too large.",
        "headers": {
            "X-OTS-Intended-Status": {
                "required": True,
                "schema": {"type": "integer", "enum": [413]},
            }
        },
    }
}

_V2_ERRORS: Responses = {
    400: {"model": ApiError, "description": "The body is not valid JSON."},
    401: {
        "model": ApiError,
        "description": "Credentials that do not match an account's API token, or none where "
        "the route needs an account.",
        "headers": {"WWW-Authenticate": {**_CHALLENGE, "required": True}},
    },
    403: {"model": ApiForbidden, "description": "Not allowed; `code` says why."},
    404: {
        "model": ApiError,
        "description": "Unknown, expired, already read or burned (alike on purpose).",
    },
    413: {"model": ApiError, "description": "The request body is too large."},
    415: {"model": ApiError, "description": "The body is not JSON."},
    422: {
        "model": ApiError,
        "description": "A value cannot be used (`field` names it), or the passphrase is wrong.",
    },
    429: {
        "model": ApiRateLimited,
        "description": "Too many attempts; try again after `retry_after` seconds.",
        "headers": {"Retry-After": {**_RETRY_AFTER, "required": True}},
    },
    503: {"model": ApiError, "description": "The store is unavailable for a moment; try again."},
}

# Groups of v2 errors, by what a route does.
ACCOUNT = (401, 403, 503)  # takes Basic credentials (required or optional) and reads the store
GUEST = (403, 503)  # guest routes: no credentials, and they can be switched off
JSON_BODY = (400, 413, 422)  # reads a JSON body
LOOKUP = (404, 429)  # looks a key up; failed lookups are limited


def v1_answers(ok: Any, *, store: bool = True, body: bool = False) -> dict[str, Any]:
    """Route options for a v1 route answering `ok`, and errors in the legacy shape."""
    responses: Responses = {200: {"model": ok}}
    if store:
        responses.update(V1_ERRORS)
    if body:
        responses.update(V1_TOO_LARGE)
    return {"response_model": None, "responses": dict(sorted(responses.items(), key=_by_code))}


def v2_answers(ok: Any, *errors: int | tuple[int, ...]) -> dict[str, Any]:
    """Route options for a v2 route answering `ok`, and the given error statuses (or groups)."""
    codes: set[int] = set()
    for item in errors:
        codes.update(item if isinstance(item, tuple) else (item,))
    responses: Responses = {200: {"model": ok}}
    responses.update({code: _V2_ERRORS[code] for code in sorted(codes)})
    return {"response_model": None, "responses": responses}


def _by_code(item: tuple[int | str, Any]) -> str:
    return str(item[0])


HEALTH: dict[str, Any] = {
    "response_model": None,
    "responses": {
        200: {"model": Health, "description": "The store answers."},
        503: {"model": Health, "description": "The store does not answer."},
    },
}
