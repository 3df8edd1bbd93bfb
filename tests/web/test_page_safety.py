"""What every page must carry and must not carry: headers, references, scripts, styles, cookies."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import InProcess
from tests.web.pagekit import burn, create, is_same_origin, page, reveal

STYLESHEET = Path(__file__).parents[2] / "src" / "onetime" / "web" / "static" / "style.css"
Pages = dict[str, httpx.Response]

# Answers that show a secret, a key or a link to one (a redirect's Location carries a key).
SENSITIVE = {
    "create-redirect",
    "burn-redirect",
    "reveal-head",
    "gone-post",
    "receipt-created",
    "receipt",
    "receipt-opened",
    "receipt-burned",
    "receipt-burn-wrong",
    "reveal",
    "reveal-passphrase",
    "reveal-wrong-passphrase",
    "revealed",
    "gone",
    "create-invalid",
}


async def _collect(env: InProcess) -> Pages:
    """Visit every kind of page once, keeping each answer (redirects included)."""
    client = env.client
    got: Pages = {}
    got["index"] = await client.get("/")
    got["index-head"] = await client.head("/")
    got["create-redirect"] = await client.post("/", data={"secret": "one", "ttl": "3600"})
    got["receipt-created"] = await client.get(got["create-redirect"].headers["location"])

    shared = await create(client, "two")
    got["receipt"] = await client.get(shared.receipt_path)
    got["reveal"] = await client.get(shared.secret_path)
    got["reveal-head"] = await client.head(shared.secret_path)
    got["receipt-opened"] = await client.get(shared.receipt_path)
    got["revealed"] = await reveal(client, shared)
    got["gone"] = await client.get(shared.secret_path)
    got["gone-post"] = await reveal(client, shared)

    locked = await create(client, "three", passphrase="pass phrase")
    got["reveal-passphrase"] = await client.get(locked.secret_path)
    got["reveal-wrong-passphrase"] = await reveal(client, locked, "not it")
    got["receipt-burn-wrong"] = await burn(client, locked, passphrase="not it")
    got["burn-redirect"] = await burn(client, locked, passphrase="pass phrase")
    got["receipt-burned"] = await client.get(locked.receipt_path)

    got["create-invalid"] = await client.post("/", data={"secret": "", "passphrase": "x"})
    got["not-found"] = await client.get("/no/such/page")
    got["receipt-unknown"] = await client.get("/receipt/unknown")
    got["method-not-allowed"] = await client.put("/")
    got["too-large"] = await client.post(
        "/", data={"secret": "x" * (env.settings.max_request_bytes + 1)}
    )
    got["api-docs"] = await client.get("/api/docs")
    got["too-many"] = await client.post("/", data={"secret": "four"})
    return got


@pytest.fixture
async def pages(app_factory: Callable[..., Any]) -> AsyncIterator[tuple[InProcess, Pages]]:
    # Three creations are allowed, the fourth is refused, so the 429 page is among the pages.
    async with app_factory(create_limit=3) as env:
        yield env, await _collect(env)


async def test_every_page_answered_as_expected(pages: tuple[InProcess, Pages]) -> None:
    _, got = pages
    expected = {
        "index": 200,
        "index-head": 200,
        "create-redirect": 303,
        "receipt-created": 200,
        "receipt": 200,
        "reveal": 200,
        "reveal-head": 200,
        "receipt-opened": 200,
        "revealed": 200,
        "gone": 404,
        "gone-post": 404,
        "reveal-passphrase": 200,
        "reveal-wrong-passphrase": 422,
        "receipt-burn-wrong": 422,
        "burn-redirect": 303,
        "receipt-burned": 200,
        "create-invalid": 422,
        "not-found": 404,
        "receipt-unknown": 404,
        "method-not-allowed": 405,
        "too-large": 413,
        "api-docs": 200,
        "too-many": 429,
    }
    assert {name: response.status_code for name, response in got.items()} == expected


async def test_security_headers_on_every_answer(pages: tuple[InProcess, Pages]) -> None:
    _, got = pages
    for name, response in got.items():
        csp = response.headers.get("content-security-policy", "")
        directives = {
            part.strip().split(" ", 1)[0]: part.strip() for part in csp.split(";") if part.strip()
        }
        assert "'self'" in directives.get("script-src", ""), name
        assert directives.get("frame-ancestors") == "frame-ancestors 'none'", name
        assert "unsafe-inline" not in csp, name
        assert "unsafe-eval" not in csp, name
        assert "*" not in csp, name
        assert response.headers.get("referrer-policy") == "no-referrer", name
        assert response.headers.get("x-content-type-options") == "nosniff", name


async def test_no_store_where_a_secret_or_link_is_shown(pages: tuple[InProcess, Pages]) -> None:
    _, got = pages
    assert got.keys() >= SENSITIVE
    for name in SENSITIVE:
        assert got[name].headers.get("cache-control") == "no-store", name


async def test_static_files_are_cached_not_no_store(env: InProcess) -> None:
    response = await env.client.get("/static/style.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    cache = response.headers["cache-control"]
    assert "no-store" not in cache
    assert re.search(r"max-age=\d+", cache)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "set-cookie" not in response.headers


async def test_html_pages_are_html(pages: tuple[InProcess, Pages]) -> None:
    _, got = pages
    for name, response in got.items():
        if response.status_code in (303,) or name.endswith("-head"):
            continue
        assert response.headers["content-type"] == "text/html; charset=utf-8", name
        assert response.text.lstrip().lower().startswith("<!doctype html>"), name


async def test_no_cookie_for_anonymous_visitors(pages: tuple[InProcess, Pages]) -> None:
    env, got = pages
    for name, response in got.items():
        assert "set-cookie" not in response.headers, name
    assert not env.client.cookies


async def test_nothing_is_loaded_from_elsewhere(pages: tuple[InProcess, Pages]) -> None:
    _, got = pages
    for name, response in got.items():
        if not response.content:
            continue
        for url in page(response).references():
            assert is_same_origin(url), f"{name} points outside the server: {url}"


async def test_every_reference_on_a_page_resolves(pages: tuple[InProcess, Pages]) -> None:
    env, got = pages
    checked: set[str] = set()
    for response in got.values():
        if not response.content:
            continue
        for element in page(response).elements:
            url = element.get("href") or element.get("src")
            if url and url.startswith("/") and url not in checked:
                checked.add(url)
                assert (await env.client.get(url)).status_code == 200, url
    assert "/static/style.css" in checked


async def test_no_inline_script_or_style(pages: tuple[InProcess, Pages]) -> None:
    _, got = pages
    for name, response in got.items():
        if not response.content:
            continue
        shown = page(response)
        for script in shown.all("script"):
            assert script.get("src"), f"inline <script> on {name}"
            assert not script.text.strip(), f"inline <script> body on {name}"
        assert not shown.all("style"), f"<style> element on {name}"
        for element in shown.elements:
            assert "style" not in element.attrs, f"style= attribute on <{element.tag}> in {name}"
            handlers = [attr for attr in element.attrs if attr.startswith("on")]
            assert not handlers, f"event handler {handlers} on <{element.tag}> in {name}"
            for attr in ("href", "src", "action"):
                assert not (element.get(attr) or "").lower().startswith("javascript:"), name


def test_stylesheet_loads_nothing_from_elsewhere() -> None:
    css = STYLESHEET.read_text()
    for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css):
        assert is_same_origin(url) or url.startswith("data:"), url
    assert "@import" not in css
    assert "expression(" not in css


async def test_pages_name_the_robots_and_referrer_policy(pages: tuple[InProcess, Pages]) -> None:
    _, got = pages
    for name in ("reveal", "revealed", "receipt"):
        metas = {m.get("name"): m.get("content") for m in page(got[name]).all("meta")}
        assert metas.get("referrer") == "no-referrer", name
        assert "noindex" in (metas.get("robots") or ""), name


async def test_hsts_only_when_served_over_tls(app_factory: Callable[..., Any]) -> None:
    async with app_factory() as env:
        assert "strict-transport-security" not in (await env.client.get("/")).headers
    async with app_factory(ssl=True) as env:
        hsts = (await env.client.get("/")).headers["strict-transport-security"]
        assert "max-age=" in hsts
