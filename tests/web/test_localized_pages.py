"""Pages speak the visitor's language: from Accept-Language, or the switcher's explicit choice."""

import re

import pytest

from onetime.web.i18n import LOCALES, SOURCE_LOCALE
from tests.conftest import InProcess


def heading(html: str) -> str:
    match = re.search(r"<h1[^>]*>(.*?)</h1>", html, flags=re.DOTALL)
    assert match is not None
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


@pytest.mark.parametrize("locale", [code for code in LOCALES if code != SOURCE_LOCALE])
async def test_every_language_translates_the_create_page(env: InProcess, locale: str) -> None:
    english = (await env.client.get("/", headers={"accept-language": "en"})).text
    page = await env.client.get("/", headers={"accept-language": locale.replace("_", "-")})
    assert f'lang="{locale.replace("_", "-")}"' in page.text
    assert heading(page.text) != heading(english)
    assert page.headers["content-language"].replace("-", "_") == locale
    assert "set-cookie" not in page.headers


async def test_errors_are_translated_with_local_number_grouping(app_factory: object) -> None:
    async with app_factory(secret_max_bytes=10_000) as running:  # type: ignore[operator]
        answer = await running.client.post(
            "/", data={"secret": "x" * 12_345}, headers={"accept-language": "de-DE,de;q=0.9"}
        )
    assert answer.status_code == 422
    assert "12.345" in answer.text
    assert "10.000" in answer.text
    assert "bytes" not in answer.text


async def test_the_switchers_choice_wins_over_the_browser(env: InProcess) -> None:
    chosen = await env.client.post("/preferences", data={"lang": "ja", "next": "/"})
    assert chosen.status_code == 303
    page = await env.client.get("/", headers={"accept-language": "fr"})
    assert 'lang="ja"' in page.text


async def test_the_api_stays_english_whatever_the_browser_says(env: InProcess) -> None:
    answer = await env.client.post(
        "/api/v2/secret/conceal", json={"secret": {"secret": ""}}, headers={"accept-language": "de"}
    )
    assert answer.json()["error"] == "You did not provide anything to share."
