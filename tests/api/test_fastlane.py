"""The fast lane answers its routes exactly as FastAPI's routes would, errors included.

Two apps on the same settings and store, one with the fast lane and one without, get the same
requests; their answers must match in status, in the headers clients read, and in the body
(random keys and times aside).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from onetime.api.fastlane import match
from onetime.app import create_app
from onetime.core.clock import ManualClock
from onetime.settings import Settings

V1 = "/api/v1"
WRONG_AUTH = {"Authorization": "Basic " + base64.b64encode(b"a@example.com:nope").decode()}
NOT_BASIC = {"Authorization": "Bearer abc"}
BAD_KEY = "z" * 62
# Values that differ between any two creations.
RANDOM_FIELDS = {
    "metadata_key", "secret_key", "identifier", "secret_identifier", "metadata_url",
    "receipt_url", "created", "updated", "received",
}  # fmt: skip
COMPARED_HEADERS = (
    "content-type", "x-ots-intended-status", "www-authenticate", "retry-after", "cache-control",
    "content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options",
)  # fmt: skip

Pair = tuple[httpx.AsyncClient, httpx.AsyncClient]


@pytest.fixture
def start_pair(make_settings: Callable[..., Settings], clock: ManualClock) -> Callable[..., Any]:
    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Pair]:
        settings = make_settings(**overrides)
        fast, routed = (
            create_app(settings, clock=clock),
            create_app(settings, clock=clock, fast_lane=False),
        )
        async with (
            fast.router.lifespan_context(fast),
            routed.router.lifespan_context(routed),
            _client(fast) as fast_client,
            _client(routed) as routed_client,
        ):
            yield fast_client, routed_client

    return start


def _client(app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def pair(start_pair: Callable[..., Any]) -> AsyncIterator[Pair]:
    async with start_pair() as clients:
        yield clients


def _comparable(response: httpx.Response) -> tuple[int, dict[str, str], Any]:
    headers = {
        name: response.headers[name] for name in COMPARED_HEADERS if name in response.headers
    }
    try:
        body: Any = response.json()
    except json.JSONDecodeError:
        body = response.text
    if isinstance(body, dict):
        body = {
            name: ("<random>" if name in RANDOM_FIELDS else value) for name, value in body.items()
        }
    return response.status_code, headers, body


async def _same(pair: Pair, method: str, path: str, **options: Any) -> httpx.Response:
    fast, routed = pair
    answers = [await client.request(method, path, **options) for client in (fast, routed)]
    assert _comparable(answers[0]) == _comparable(answers[1])
    return answers[0]


def _key_of(response: httpx.Response, name: str) -> str:
    value: str = response.json()[name]
    return value


CREATE_CASES: list[dict[str, Any]] = [
    {"data": {"secret": "hello", "ttl": "600"}},
    {"json": {"secret": "hello", "ttl": 600, "passphrase": "open sesame"}},
    {"params": {"secret": "hello"}},
    {"data": {"ttl": "600"}},  # no secret
    {"data": {"secret": "hello", "ttl": "soon"}},
    {"data": {"secret": "x" * 20_000}},  # over the size limit
    {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
    {"content": b"[1, 2]", "headers": {"Content-Type": "application/json"}},
    {"content": b"secret=hi", "headers": {"Content-Type": "text/plain"}},
    {"data": {"secret": "hello"}, "headers": WRONG_AUTH},
    {"data": {"secret": "hello"}, "headers": NOT_BASIC},
    {"data": {"secret": "hello", "recipient": "someone@example.com"}},
    {"data": {"secret": "hello", "share_domain": "elsewhere.example"}},
]


@pytest.mark.parametrize("path", ["share", "create"])
@pytest.mark.parametrize("case", CREATE_CASES, ids=range(len(CREATE_CASES)))
async def test_creating_answers_alike(pair: Pair, path: str, case: dict[str, Any]) -> None:
    await _same(pair, "POST", f"{V1}/{path}", **case)


async def test_revealing_and_reading_receipts_answer_alike(pair: Pair) -> None:
    fast, routed = pair
    made = [
        await c.post(f"{V1}/share", data={"secret": "hello", "passphrase": "open sesame"})
        for c in pair
    ]
    secret_keys = [_key_of(r, "secret_key") for r in made]
    receipt_keys = [_key_of(r, "metadata_key") for r in made]

    async def both(method: str, paths: list[str], **options: Any) -> None:
        answers = [
            await client.request(method, path, **options)
            for client, path in zip((fast, routed), paths, strict=True)
        ]
        assert _comparable(answers[0]) == _comparable(answers[1])

    for prefix in ("receipt", "private", "metadata"):
        for method in ("GET", "POST"):
            await both(method, [f"{V1}/{prefix}/{key}" for key in receipt_keys])
        await _same(pair, "GET", f"{V1}/{prefix}/{BAD_KEY}")
    await both("POST", [f"{V1}/secret/{key}" for key in secret_keys])  # no passphrase
    await both(
        "POST", [f"{V1}/secret/{key}" for key in secret_keys], data={"passphrase": "wrong one"}
    )
    await both("POST", [f"{V1}/secret/{key}" for key in secret_keys], headers=WRONG_AUTH)
    await both(
        "POST", [f"{V1}/secret/{key}" for key in secret_keys], data={"passphrase": "open sesame"}
    )
    await both("POST", [f"{V1}/secret/{key}" for key in secret_keys])  # gone now
    await both("GET", [f"{V1}/receipt/{key}" for key in receipt_keys])
    await _same(pair, "POST", f"{V1}/secret/{BAD_KEY}")
    await _same(pair, "POST", f"{V1}/secret/short")


async def test_routes_the_fast_lane_leaves_alone_still_work(pair: Pair) -> None:
    await _same(pair, "GET", f"{V1}/receipt/recent")  # the account list, not a receipt key
    await _same(pair, "GET", f"{V1}/share")  # a method the route does not take
    await _same(pair, "POST", f"{V1}/secret/")  # no key
    await _same(pair, "POST", f"{V1}/secret/a/b")


async def test_with_anonymous_use_off_both_refuse_alike(start_pair: Callable[..., Any]) -> None:
    async with start_pair(allow_anonymous=False) as clients:
        response = await _same(clients, "POST", f"{V1}/share", data={"secret": "hello"})
        assert response.headers["x-ots-intended-status"] == "403"
        await _same(clients, "POST", f"{V1}/secret/{BAD_KEY}")


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/api/v1/share", "/api/v1/share"),
        ("POST", "/api/v1/create", "/api/v1/create"),
        ("POST", f"/api/v1/secret/{BAD_KEY}", "/api/v1/secret/{key}"),
        ("GET", f"/api/v1/private/{BAD_KEY}", "/api/v1/private/{key}"),
        ("GET", "/api/v1/receipt/recent", None),
        ("PUT", "/api/v1/share", None),
        ("POST", "/api/v2/secret/conceal", None),
        ("POST", "/api/v1/secret", None),
        ("GET", "/api/v1/receipt/a/burn", None),
    ],
)
def test_the_fast_lane_takes_only_its_routes(method: str, path: str, expected: str | None) -> None:
    found = match(method, path)
    assert (found[1] if found else None) == expected


async def test_the_access_log_names_the_route_never_the_key(
    pair: Pair, caplog: pytest.LogCaptureFixture
) -> None:
    fast, _ = pair
    made = await fast.post(f"{V1}/share", data={"secret": "hello"})
    key = _key_of(made, "secret_key")
    with caplog.at_level(logging.INFO, logger="onetime.access"):
        await fast.post(f"{V1}/secret/{key}")
    lines = [record.getMessage() for record in caplog.records if record.name == "onetime.access"]
    assert lines == [lines[0]]
    assert lines[0].startswith("POST /api/v1/secret/{key} 200")
    assert key not in caplog.text
