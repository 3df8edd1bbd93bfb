"""HTML error pages: a clear title and message, the right status and headers, no internals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import InProcess
from tests.web.pagekit import Page, page

INTERNALS = (
    "Traceback",
    'File "',
    "Exception",
    "onetime.",
    ".py",
    "sqlite",
    "Internal Server Error",
)


def assert_clean_error_page(response: httpx.Response, status: int, title_words: str) -> Page:
    assert response.status_code == status
    shown = page(response)
    assert title_words in shown.h1
    assert title_words in shown.title
    message = shown.one("p", **{"class": "lead"}).text.strip()
    assert len(message) > 10, "a sentence that says what happened"
    for word in INTERNALS:
        assert word not in response.text, word
    assert shown.find("a", href="/"), "a way back to the start"
    assert response.headers["cache-control"] == "no-store"
    return shown


@pytest.mark.parametrize("path", ["/nope", "/secret", "/receipt/", "/static/missing.css", "/%00"])
async def test_404_page(env: InProcess, path: str) -> None:
    response = await env.client.get(path)
    assert_clean_error_page(response, 404, "Nothing here")


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/"), ("DELETE", "/secret/abc"), ("POST", "/receipt/abc"), ("PATCH", "/receipt/abc")],
)
async def test_405_page(env: InProcess, method: str, path: str) -> None:
    response = await env.client.request(method, path)
    shown = assert_clean_error_page(response, 405, "Not allowed")
    assert "method" in shown.text.lower()
    assert "allow" in response.headers
    assert method not in response.headers["allow"]


async def test_413_page(env: InProcess) -> None:
    limit = env.settings.max_request_bytes
    response = await env.client.post("/", data={"secret": "x" * (limit + 1)})
    shown = assert_clean_error_page(response, 413, "Too large")
    assert f"{limit:,}" in shown.text


async def test_413_page_for_a_chunked_body(env: InProcess) -> None:
    limit = env.settings.max_request_bytes

    async def chunks() -> Any:
        for _ in range(limit // 1024 + 2):
            yield b"secret=" if _ == 0 else b"x" * 1024

    response = await env.client.post(
        "/", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert_clean_error_page(response, 413, "Too large")


async def test_413_on_the_api_stays_json(env: InProcess) -> None:
    limit = env.settings.max_request_bytes
    response = await env.client.post("/api/v2/secret/conceal", json={"secret": "x" * (limit + 1)})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/json")


async def test_429_page_says_when_to_retry(app_factory: Callable[..., Any]) -> None:
    async with app_factory(create_limit=1) as env:
        first = await env.client.post("/", data={"secret": "first"})
        assert first.status_code == 303
        response = await env.client.post("/", data={"secret": "second one"})
        shown = assert_clean_error_page(response, 429, "Please wait")
        retry_after = int(response.headers["retry-after"])
        assert 0 < retry_after <= env.settings.create_window
        minutes = -(-retry_after // 60)
        assert f"{minutes} minute" in shown.text
        assert "second one" not in response.text

        env.clock.advance(retry_after)
        assert (await env.client.post("/", data={"secret": "third"})).status_code == 303


async def test_error_page_has_one_heading_and_a_language(env: InProcess) -> None:
    response = await env.client.get("/does-not-exist")
    shown = page(response)
    assert len(shown.all("h1")) == 1
    assert shown.one("html").get("lang") == "en"


async def test_unexpected_failure_is_a_plain_500_page(
    env: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(key: str) -> None:
        raise RuntimeError(f"internal detail {key}")

    monkeypatch.setattr(env.app.state.context.service, "preview", broken)
    key = "k" * 62
    response = await env.client.get(f"/secret/{key}")
    assert response.status_code == 500
    shown = page(response)
    assert shown.h1
    assert key not in response.text
    assert "internal detail" not in response.text
    for word in INTERNALS:
        assert word not in response.text, word
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
