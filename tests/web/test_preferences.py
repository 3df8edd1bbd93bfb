"""Language and theme: chosen on purpose (then a cookie), or from the browser (then none)."""

from __future__ import annotations

from http.cookies import SimpleCookie

import httpx
import pytest

from onetime.web.preferences import safe_next
from tests.conftest import InProcess
from tests.web.pagekit import page


def set_cookies(response: httpx.Response) -> dict[str, SimpleCookie]:
    """Every Set-Cookie of an answer, by cookie name."""
    found: dict[str, SimpleCookie] = {}
    for header in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        for name in cookie:
            found[name] = cookie
    return found


async def test_choosing_a_language_sets_only_that_cookie(env: InProcess) -> None:
    response = await env.client.post("/preferences", data={"lang": "fr", "next": "/"})
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookies = set_cookies(response)
    assert set(cookies) == {"lang"}
    morsel = cookies["lang"]["lang"]
    assert morsel.value == "fr"
    assert morsel["httponly"]
    assert morsel["samesite"].lower() == "lax"
    assert int(morsel["max-age"]) > 30 * 24 * 3600

    shown = page(await env.client.get("/"))
    assert shown.one("html").get("lang") == "fr"
    assert shown.selected("lang") == ["fr"]


async def test_choosing_a_theme_sets_only_that_cookie(env: InProcess) -> None:
    response = await env.client.post("/preferences", data={"theme": "dark", "next": "/"})
    assert set(set_cookies(response)) == {"theme"}
    html = page(await env.client.get("/")).one("html")
    assert html.get("data-theme") == "dark"
    assert page(await env.client.get("/")).by_id("theme-dark").get("aria-pressed") == "true"

    await env.client.post("/preferences", data={"theme": "light"})
    assert page(await env.client.get("/")).one("html").get("data-theme") == "light"


async def test_system_theme_removes_the_cookie(env: InProcess) -> None:
    await env.client.post("/preferences", data={"theme": "dark"})
    assert env.client.cookies.get("theme") == "dark"
    response = await env.client.post("/preferences", data={"theme": "system"})
    morsel = set_cookies(response)["theme"]["theme"]
    assert morsel.value == ""
    assert morsel["max-age"] == "0" or morsel["expires"]
    assert "theme" not in env.client.cookies
    shown = page(await env.client.get("/"))
    assert shown.one("html").get("data-theme") is None
    assert shown.by_id("theme-system").get("aria-pressed") == "true"


@pytest.mark.parametrize(
    "data",
    [{}, {"lang": "klingon"}, {"theme": "neon"}, {"lang": "", "theme": ""}, {"next": "/"}],
)
async def test_no_cookie_without_a_valid_choice(env: InProcess, data: dict[str, str]) -> None:
    response = await env.client.post("/preferences", data=data)
    assert response.status_code == 303
    assert "set-cookie" not in response.headers


async def test_browsing_sets_no_cookie(env: InProcess) -> None:
    for path in ("/", "/api/docs", "/nope", "/static/style.css", "/brand.css"):
        response = await env.client.get(path, headers={"accept-language": "fr"})
        assert "set-cookie" not in response.headers, path


@pytest.mark.parametrize(
    ("next_value", "expected"),
    [
        ("/receipt/abc?created=1", "/receipt/abc?created=1"),
        ("/secret/abc", "/secret/abc"),
        ("//evil.example", "/"),
        ("//evil.example/path", "/"),
        ("https://evil.example/", "/"),
        ("http://testserver/", "/"),
        ("javascript:alert(1)", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("/\n/evil.example", "/"),
        ("evil.example", "/"),
        ("", "/"),
    ],
)
async def test_next_stays_on_this_site(env: InProcess, next_value: str, expected: str) -> None:
    assert safe_next(next_value) == expected
    response = await env.client.post("/preferences", data={"lang": "de", "next": next_value})
    assert response.status_code == 303
    assert response.headers["location"] == expected


async def test_every_page_offers_both_switches(env: InProcess) -> None:
    shown = page(await env.client.get("/api/docs"))
    lang = shown.by_id("lang-form")
    assert (lang.get("action"), (lang.get("method") or "").lower()) == ("/preferences", "post")
    names = {e.get("name"): e.get("value") for e in shown.inside(lang) if e.get("name")}
    assert names["next"] == "/api/docs"
    assert shown.by_id("lang").get("name") == "lang"
    codes = [o.get("value") for o in shown.options("lang")]
    assert codes == ["en", "de", "es", "fr", "it", "ja", "nl", "pt_BR"]
    assert shown.label_for("lang").text.strip()
    assert shown.by_id("lang-submit").get("type") == "submit"

    theme = shown.by_id("theme-form")
    assert theme.get("action") == "/preferences"
    buttons = [e for e in shown.inside(theme, "button")]
    assert [(b.get("name"), b.get("value")) for b in buttons] == [
        ("theme", "light"),
        ("theme", "dark"),
        ("theme", "system"),
    ]
    hidden = [e for e in shown.inside(theme, "input") if e.get("name") == "next"]
    assert [e.get("value") for e in hidden] == ["/api/docs"]


# -- languages from the browser -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "lang"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("de", "de"),
        ("pt-BR", "pt-BR"),
        ("pt-PT,pt;q=0.9", "pt-BR"),
        ("ja-JP", "ja"),
        ("xx, en;q=0.5", "en"),
        ("", "en"),
        ("en;q=0.1, nl;q=0.9", "nl"),
        (";;;,q=,fr;q=abc", "en"),
    ],
)
async def test_the_language_follows_the_browser(env: InProcess, accept: str, lang: str) -> None:
    response = await env.client.get("/", headers={"accept-language": accept})
    assert response.status_code == 200
    assert page(response).one("html").get("lang") == lang
    assert response.headers["content-language"] == lang
    assert "Accept-Language" in response.headers["vary"]
    assert "set-cookie" not in response.headers


async def test_a_chosen_language_wins_over_the_browser(env: InProcess) -> None:
    await env.client.post("/preferences", data={"lang": "de"})
    response = await env.client.get("/", headers={"accept-language": "fr"})
    assert page(response).one("html").get("lang") == "de"


async def test_error_and_gone_pages_speak_the_language_too(env: InProcess) -> None:
    headers = {"accept-language": "fr"}
    for path in ("/nope", "/secret/unknown"):
        response = await env.client.get(path, headers=headers)
        assert response.status_code == 404
        assert page(response).one("html").get("lang") == "fr"


async def test_lifetimes_are_written_in_the_language(env: InProcess) -> None:
    shown = page(await env.client.get("/", headers={"accept-language": "de"}))
    labels = [o.text.strip() for o in shown.options("ttl")]
    assert "7 Tage" in labels
    assert "1 Stunde" in labels
