"""The "generate a password" form: the password is shown once, on the share page itself."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from onetime.core.policy import DAY, HOUR
from tests.conftest import InProcess
from tests.web.pagekit import Page, page, revealed_value

SYMBOLS = set("!#$%&*+-=?@^_~")
LOOK_ALIKES = set("0O1lI|5S2Z8B")


def share_path(shown: Page) -> str:
    url = shown.by_id("share-link").get("value") or ""
    match = re.fullmatch(r"http://testserver(/secret/[0-9a-z]+)", url)
    assert match, url
    return match.group(1)


def generated(shown: Page) -> str:
    return shown.text_of(shown.by_id("generated-password"))


async def test_the_front_page_offers_the_generate_form(env: InProcess) -> None:
    shown = page(await env.client.get("/"))
    form = shown.by_id("generate-form")
    assert form.get("action") == "/generate"
    assert (form.get("method") or "").lower() == "post"
    inside = {e.get("id") for e in shown.inside(form)}
    assert {"length", "symbols", "generate-ttl", "generate-passphrase", "generate-button"} <= inside
    length = shown.by_id("length")
    assert (length.get("type"), length.get("value")) == ("number", "16")
    assert (length.get("min"), length.get("max")) == ("8", "128")
    assert shown.by_id("symbols").get("type") == "checkbox"
    assert shown.by_id("generate-passphrase").get("type") == "password"
    assert shown.by_id("generate-button").get("type") == "submit"
    for field in ("length", "symbols", "generate-ttl", "generate-passphrase"):
        assert shown.label_for(field).text.strip(), field


async def test_generate_shows_the_password_once_and_shares_it(env: InProcess) -> None:
    response = await env.client.post("/generate", data={"length": "16", "ttl": str(DAY)})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    shown = page(response)
    password = generated(shown)
    assert len(password) == 16
    assert not set(password) & SYMBOLS, "no symbols unless asked for"
    assert not set(password) & LOOK_ALIKES
    assert "1 day" in shown.text
    # The share page's other parts are all there.
    assert shown.by_id("qr").tag == "div"
    assert (shown.by_id("receipt-link").get("value") or "").startswith("http://testserver/receipt/")
    assert shown.by_id("create-another").get("href") == "/"
    assert shown.by_id("copy-generated-password").get("data-copy") == "generated-password"
    assert shown.label_for("generated-password").text.strip()

    # The link reveals that very password, once.
    path = share_path(shown)
    assert password not in (await env.client.get(path)).text
    assert revealed_value(await env.client.post(path)) == password
    assert (await env.client.post(path)).status_code == 404

    # The receipt never shows it again.
    receipt_url = shown.by_id("receipt-link").get("value") or ""
    receipt = await env.client.get(receipt_url.removeprefix("http://testserver"))
    assert receipt.status_code == 200
    assert password not in receipt.text
    assert "generated-password" not in receipt.text


@pytest.mark.parametrize("length", [8, 24, 128])
async def test_length_and_symbols_are_honoured(env: InProcess, length: int) -> None:
    response = await env.client.post("/generate", data={"length": str(length), "symbols": "1"})
    assert response.status_code == 200
    password = generated(page(response))
    assert len(password) == length
    assert set(password) & SYMBOLS, "at least one symbol when asked for"


async def test_a_missing_length_means_the_suggested_one(env: InProcess) -> None:
    response = await env.client.post("/generate", data={})
    assert len(generated(page(response))) == 16


async def test_generate_with_a_passphrase(env: InProcess) -> None:
    response = await env.client.post("/generate", data={"passphrase": "a door key"})
    shown = page(response)
    password = generated(shown)
    assert "a door key" not in response.text
    path = share_path(shown)
    assert (await env.client.post(path, data={"passphrase": "wrong key"})).status_code == 422
    assert (
        revealed_value(await env.client.post(path, data={"passphrase": "a door key"})) == password
    )


@pytest.mark.parametrize("length", ["7", "129", "lots", "-1", "1e3"])
async def test_a_bad_length_re_renders_the_form(env: InProcess, length: str) -> None:
    response = await env.client.post(
        "/generate",
        data={"length": length, "ttl": str(HOUR), "symbols": "1", "passphrase": "kept?"},
    )
    assert response.status_code == 422
    shown = page(response)
    alert = shown.by_id("generate-error")
    assert alert.get("role") == "alert"
    assert "between 8 and 128" in alert.text
    field = shown.by_id("length")
    assert field.get("aria-invalid") == "true"
    assert "generate-error" in (field.get("aria-describedby") or "")
    # What was picked is kept, the passphrase is not.
    assert shown.selected("generate-ttl") == [str(HOUR)]
    assert "checked" in shown.by_id("symbols").attrs
    assert "kept?" not in response.text
    assert not shown.find("textarea", id="generated-password")


async def test_a_short_passphrase_is_pointed_at(env: InProcess) -> None:
    response = await env.client.post("/generate", data={"passphrase": "abc"})
    assert response.status_code == 422
    shown = page(response)
    assert "at least 4" in shown.by_id("generate-error").text
    assert shown.by_id("generate-passphrase").get("aria-invalid") == "true"
    assert shown.by_id("passphrase").get("aria-invalid") is None


async def test_generate_counts_as_a_creation(app_factory: Callable[..., Any]) -> None:
    async with app_factory(create_limit=1) as env:
        assert (await env.client.post("/generate", data={})).status_code == 200
        limited = await env.client.post("/generate", data={})
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) > 0


async def test_get_generate_leads_to_the_form(env: InProcess) -> None:
    response = await env.client.get("/generate")
    assert response.status_code == 303
    assert response.headers["location"] == "/#generate"


async def test_the_generated_password_page_cannot_be_left_by_a_switch(env: InProcess) -> None:
    # A language switch reloads the page, and this page cannot be shown again: no such form
    # unless the script (which switches themes in place) is there.
    shown = page(await env.client.post("/generate", data={}))
    assert "hidden" in shown.by_id("lang-form").attrs
    assert "hidden" in shown.by_id("theme-form").attrs
