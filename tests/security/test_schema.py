"""The API against its own OpenAPI document, with requests that schemathesis generates.

Every documented operation gets valid and invalid input (positive and negative generation, and
schemathesis's coverage cases), and every answer must pass these checks: no 5xx ever; the status
code, content type and headers are documented for the operation; the body matches the documented
schema. The app runs in this process (schemathesis's ASGI transport) on a fresh SQLite data
directory, with creation and lookup limits off so that 429s do not hide the other answers (the
429s themselves are documented and checked in tests/api/).

Generated keys are almost never real ones, so some examples swap the path key for a secret or a
receipt made just before; some are sent with an account's API token; some go to a second app
without the fast lane (api/fastlane.py), whose v1 answers must match the same document. Which
ones is worked out from each generated request (`_variant`), not drawn with `@schema.given`:
that would switch off schemathesis's coverage phase (its boundary and missing-field cases). And
`test_every_operation_succeeds_as_documented` sends one known-good request to each operation, so
every success schema is checked against a real answer, whatever the generator picked.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from onetime.api.fastlane import match
from onetime.app import create_app
from onetime.settings import Settings, load_settings
from tests.accounts import TestAccount, make_account
from tests.conftest import TEST_SECRET

pytestmark = pytest.mark.slow

# Generated examples per operation (the fuzzing phase; the coverage phase adds its own cases).
MAX_EXAMPLES = 40

# Made by the `helper` fixture, removed after the module: the apps below only name it.
ROOT = Path(tempfile.gettempdir()) / f"onetime-schema-{os.getpid()}-{secrets.token_hex(4)}"


def _settings() -> Settings:
    return load_settings(
        secret=TEST_SECRET,
        data_dir=ROOT / "data",
        counters_dir=ROOT / "counters",
        site_host="testserver",
        argon2_memory_kib=1024,
        argon2_time_cost=1,
        # Rate limits off: otherwise most answers would soon be 429s.
        create_limit=0,
        account_create_limit=0,
        reveal_guess_limit=0,
    )


APP = create_app(_settings())  # with the fast lane, as served
ROUTED = create_app(_settings(), fast_lane=False)  # every request through FastAPI's routes
DOCUMENT = APP.openapi()  # what /api/openapi.json serves (checked below)
CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "database": "none"},
        # Hypothesis's health checks judge how fast and how well inputs are generated, not the
        # app; on a loaded CI machine "too slow" would fail runs that found nothing.
        "suppress-health-check": ["too_slow", "data_too_large", "large_base_example"],
    }
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)
schema.app = APP

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
OPERATIONS = [
    f"{method.upper()} {path}" for path, item in DOCUMENT["paths"].items() for method in item
]
# The operations the fast lane answers (for any key): sent to both apps below.
FAST_LANE = [
    label for label in OPERATIONS if match(*label.replace("{key}", "k").split(" ")) is not None
]


@dataclass
class Made:
    """A secret made for a test: its share key and its receipt key."""

    secret_key: str
    receipt_key: str


@dataclass
class Helper:
    """Makes secrets on the shared store, as an account or anonymously."""

    account: TestAccount

    def secret(
        self, passphrase: str | None = None, as_account: bool = False, revealed: bool = False
    ) -> Made:
        with asgi.get_client(APP) as client:
            answer = client.post(
                "/api/v2/secret/conceal",
                json={"secret": {"secret": "made for a test", "passphrase": passphrase}},
                auth=self.account.basic if as_account else None,
            )
            assert answer.status_code == 200, answer.text
            record = answer.json()["record"]
            made = Made(record["secret"]["key"], record["receipt"]["key"])
            if revealed:
                shown = client.post(
                    f"/api/v2/secret/{made.secret_key}/reveal",
                    json={"continue": True, "passphrase": passphrase},
                )
                assert shown.status_code == 200, shown.text
        return made


@pytest.fixture(scope="module")
def helper() -> Iterator[Helper]:
    """The data directory, with an account in it (made before the apps open their stores)."""
    (ROOT / "data").mkdir(parents=True)
    (ROOT / "counters").mkdir()

    async def sign_up() -> TestAccount:
        setup = create_app(_settings())
        async with setup.router.lifespan_context(setup):
            return await make_account(setup, "schema@example.com")

    try:
        yield Helper(asyncio.run(sign_up()))
    finally:
        asgi.shutdown_lifespans()  # closes both apps' stores
        shutil.rmtree(ROOT, ignore_errors=True)


def _key_for(path: str, made: Made) -> str:
    """The receipt key for receipt routes, the share key for secret routes."""
    return made.receipt_key if "/receipt/" in path else made.secret_key


def _call(case: schemathesis.Case, caller: str, routed: bool, helper: Helper) -> Any:
    """Send the case as `caller` (see CALLERS) to one of the apps; check the answer."""
    auth = None
    if caller != "generated":
        case.headers.pop("Authorization", None)
    if caller == "account":
        auth = helper.account.basic
    # Only requests the fast lane would answer can tell the two apps apart.
    app = ROUTED if routed and match(case.method, case.formatted_path) else APP
    return case.call_and_validate(checks=CHECKS, auth=auth, app=app)


# Who calls: whatever Authorization header schemathesis generated for the documented Basic scheme
# (for routes requiring it, always one, mostly not valid), the account's real API token, or
# nobody.
CALLERS = ("generated", "account", "anonymous")
# What the path key is: the generated one, or one of a secret made just before (plain, with a
# passphrase, made by the account, or already revealed).
REAL_KEYS = (None, "plain", "passphrase", "account", "revealed")


def _variant(case: schemathesis.Case) -> int:
    """A number taken from the generated request: the same request, the same variant."""
    sent = (case.path_parameters, case.query, case.body, sorted(case.headers.items()))
    return zlib.crc32(repr(sent).encode())


@schema.parametrize()
def test_generated_requests_get_documented_answers(case: schemathesis.Case, helper: Helper) -> None:
    variant, routed = divmod(_variant(case), 2)
    variant, caller = divmod(variant, len(CALLERS))
    real_key = REAL_KEYS[variant % len(REAL_KEYS)]
    if real_key is not None and "key" in case.path_parameters:
        made = helper.secret(
            passphrase="open sesame" if real_key == "passphrase" else None,
            as_account=real_key == "account",
            revealed=real_key == "revealed",
        )
        case.path_parameters["key"] = _key_for(case.path, made)
    _call(case, CALLERS[caller], bool(routed), helper)


# -- one known-good request per operation ---------------------------------------------------------


@dataclass(frozen=True)
class Good:
    """A request that must succeed.

    A secret is made first when `made` (options of Helper.secret) or `key` asks for one: `key`
    ("secret" or "receipt") puts one of its keys in the path, a callable `body` is given it.
    """

    body: Any = None
    media_type: str | None = None
    query: dict[str, str] | None = None
    as_account: bool = False
    key: str | None = None
    made: dict[str, Any] = field(default_factory=dict)


FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
SESAME = {"passphrase": "open sesame"}
SETS = {"uppercase": True, "lowercase": True, "numbers": True, "symbols": True}


def _v2_secret_routes(prefix: str, as_account: bool) -> dict[str, Good]:
    """The secret and receipt routes, with credentials or without (the guest twins)."""
    routes = {
        "POST /secret/conceal": Good(
            {"secret": {"secret": "hello", "ttl": "3600", "passphrase": "four"}}, JSON
        ),
        "POST /secret/generate": Good({"secret": {"length": 20, "character_sets": SETS}}, JSON),
        "POST /secret/status": Good(
            lambda made: {"identifiers": [made.secret_key, "no-such-key"]}, JSON
        ),
        "GET /secret/{key}": Good(key="secret"),
        "POST /secret/{key}/reveal": Good(
            {"continue": True, **SESAME}, JSON, key="secret", made=SESAME
        ),
        "GET /secret/{key}/status": Good(key="secret"),
        "GET /receipt/{key}": Good(key="receipt", made={"revealed": True}),
        "POST /receipt/{key}/burn": Good({"continue": True}, JSON, key="receipt"),
    }
    good = {}
    for label, request in routes.items():
        method, path = label.split(" ")
        good[f"{method} {prefix}{path}"] = replace(request, as_account=as_account)
    return good


GOOD: dict[str, Good] = {
    "GET /health": Good(),
    "GET /api/v1/status": Good(),
    "GET /api/v1/authcheck": Good(as_account=True),
    "POST /api/v1/share": Good(
        {"secret": "hello", "ttl": "7200", "recipient": "friend@example.com"},
        FORM,
        as_account=True,
    ),
    "POST /api/v1/create": Good({"secret": "hello", "passphrase": "four"}, JSON),
    "POST /api/v1/generate": Good({"length": "16"}, FORM, as_account=True),
    "POST /api/v1/secret/{key}": Good(SESAME, FORM, key="secret", made=SESAME),
    "GET /api/v1/receipt/recent": Good(as_account=True, made={"as_account": True}),
    "GET /api/v1/receipt/{key}": Good(as_account=True, key="receipt", made={"as_account": True}),
    "POST /api/v1/receipt/{key}": Good(key="receipt", made={"revealed": True}),
    "POST /api/v1/receipt/{key}/burn": Good(SESAME, FORM, key="receipt", made=SESAME),
    "GET /api/v2/status": Good(),
    "GET /api/v2/supported-locales": Good(),
    "GET /api/v2/version": Good(as_account=True),
    "GET /api/v2/receipt/recent": Good(as_account=True, made={"as_account": True}),
    "PATCH /api/v2/receipt/{key}": Good(
        {"memo": "for the team"}, JSON, as_account=True, key="receipt", made={"as_account": True}
    ),
    **_v2_secret_routes("/api/v2", as_account=True),
    **_v2_secret_routes("/api/v2/guest", as_account=False),
}
# The v2 reveal with the query parameters, next to the preview above.
REVEAL_BY_QUERY = Good(query={"continue": "true", **SESAME}, key="secret", made=SESAME)


@pytest.mark.parametrize(
    ("label", "routed"),
    [(label, False) for label in OPERATIONS] + [(label, True) for label in FAST_LANE],
    ids=[*OPERATIONS, *(f"{label} without the fast lane" for label in FAST_LANE)],
)
def test_every_operation_succeeds_as_documented(label: str, routed: bool, helper: Helper) -> None:
    assert label in GOOD, f"add a known-good request for {label} to GOOD"
    method, path = label.split(" ")
    goods = [GOOD[label]]
    if method == "GET" and path.endswith("/secret/{key}"):
        goods.append(REVEAL_BY_QUERY)
    for good in goods:
        made = helper.secret(**good.made) if good.made or good.key or callable(good.body) else None
        path_parameters = {}
        if good.key is not None:
            assert made is not None
            path_parameters["key"] = made.receipt_key if good.key == "receipt" else made.secret_key
        body = good.body(made) if callable(good.body) else good.body
        case = schema[path][method].Case(
            path_parameters=path_parameters,
            query=good.query,
            **({"body": body, "media_type": good.media_type} if body is not None else {}),
        )
        response = _call(case, "account" if good.as_account else "anonymous", routed, helper)
        assert response.status_code == 200, response.text
        if path.endswith("/receipt/recent"):  # a list is checked only as far as it has items
            listed = response.json()
            assert listed if isinstance(listed, list) else listed["records"]


def test_the_document_tested_is_the_one_served(helper: Helper) -> None:
    with asgi.get_client(APP) as client:
        served = client.get("/api/openapi.json")
    assert served.status_code == 200
    assert served.json() == DOCUMENT
    assert len(OPERATIONS) >= 30  # v1, v2, the guest routes and /health
    assert len(FAST_LANE) == 5  # share, create, reveal, and reading a receipt (GET and POST)
