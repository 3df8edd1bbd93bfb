"""A deployment brands itself: its name, its logo and its colour, from settings."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from onetime.web.preferences import brand_css, contrast
from tests.conftest import InProcess
from tests.web.pagekit import page

LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    '<rect width="10" height="10" fill="#c00"/></svg>'
)


async def test_default_branding(env: InProcess) -> None:
    shown = page(await env.client.get("/"))
    assert shown.one("a", **{"class": "brand"}).text.strip() == "onetime"
    assert shown.title.endswith("· onetime")
    assert not shown.find("img"), "no logo configured: our own inline mark"
    assert shown.find("svg", **{"class": "logo mark"})
    sheets = [link.get("href") for link in shown.find("link", rel="stylesheet")]
    assert sheets == ["/static/style.css", "/brand.css"], "the brand colour comes last"
    assert (await env.client.get("/brand/logo")).status_code == 404


async def test_site_name_logo_colour_and_instructions(
    app_factory: Callable[..., Any], tmp_path: Path
) -> None:
    logo = tmp_path / "logo.svg"
    logo.write_text(LOGO)
    async with app_factory(
        site_name="Acme Secrets",
        logo_path=logo,
        primary_color="#E11D48",
        instructions="Only share work passwords here.\nAsk IT if unsure.",
    ) as env:
        shown = page(await env.client.get("/"))
        assert "Acme Secrets" in shown.one("a", **{"class": "brand"}).text
        assert shown.title == "Share a secret · Acme Secrets"
        image = shown.one("img")
        assert image.get("src") == "/brand/logo"
        assert image.get("alt") == "", "the name next to it says it already"
        assert "Only share work passwords here." in shown.one("p", **{"class": "instructions"}).text

        served = await env.client.get("/brand/logo")
        assert served.status_code == 200
        assert served.headers["content-type"].startswith("image/svg+xml")
        assert served.text == LOGO

        css = await env.client.get("/brand.css")
        assert css.status_code == 200
        assert css.headers["content-type"].startswith("text/css")
        assert "--brand: #e11d48;" in css.text
        assert "set-cookie" not in css.headers

        # The name is the API's title too.
        assert (
            (await env.client.get("/api/openapi.json"))
            .json()["info"]["title"]
            .startswith("Acme Secrets")
        )


async def test_png_logo(app_factory: Callable[..., Any], tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    async with app_factory(logo_path=logo) as env:
        served = await env.client.get("/brand/logo")
        assert served.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    "colour", ["#1f5fbf", "#ffcc00", "#00ff00", "#000000", "#ffffff", "#777777"]
)
def test_any_brand_colour_stays_readable(colour: str) -> None:
    css = brand_css(colour)
    values = dict(re.findall(r"--([a-z-]+): (#[0-9a-f]{6});", css))
    assert values["brand"] == colour
    for background in ("#f6f7f8", "#ffffff"):
        assert contrast(values["brand-light"], background) >= 4.5
    for background in ("#14161a", "#1d2025"):
        assert contrast(values["brand-dark"], background) >= 4.5
    assert contrast(values["brand-light"], values["brand-light-ink"]) >= 4.5
    assert contrast(values["brand-dark"], values["brand-dark-ink"]) >= 4.5


def test_the_stylesheet_uses_the_brand_colour() -> None:
    css = (Path(__file__).parents[2] / "src/onetime/web/static/style.css").read_text()
    assert "var(--brand-light)" in css
    assert "var(--brand-dark)" in css
    assert '[data-theme="dark"]' in css
    assert '[data-theme="light"]' in css
    assert "prefers-reduced-motion" in css
