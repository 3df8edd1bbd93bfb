"""The create form: its fields, the lifetimes it offers, and what happens on good and bad input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from onetime.core.policy import DAY, HOUR, MINUTE
from tests.conftest import InProcess
from tests.web.pagekit import create, page, receipt_state, reveal, revealed_value

SECRET = "correct horse battery staple"


async def test_form_has_labelled_fields(env: InProcess) -> None:
    response = await env.client.get("/")
    assert response.status_code == 200
    form_page = page(response)
    form = form_page.by_id("create-form")
    assert (form.get("method") or "").lower() == "post"
    assert form.get("action") == "/"
    fields = {e.get("name"): e for e in form_page.inside(form) if e.get("name")}
    for name, tag in (("secret", "textarea"), ("passphrase", "input"), ("ttl", "select")):
        field = fields[name]
        assert field.tag == tag
        element_id = field.get("id")
        assert element_id == name, f"{name} has the id the pages promise"
        assert form_page.label_for(element_id).text.strip()
    assert fields["passphrase"].get("type") == "password"
    button = form_page.by_id("create-button")
    assert button.tag == "button"
    assert button.get("type") == "submit"
    assert any(e is button for e in form_page.inside(form))


async def test_lifetimes_stay_within_the_anonymous_range(env: InProcess) -> None:
    form_page = page(await env.client.get("/"))
    values = [int(option.get("value") or "") for option in form_page.options("ttl")]
    assert values, "no lifetimes offered"
    assert max(values) == 7 * DAY
    assert min(values) >= env.settings.ttl_min
    assert values == sorted(values)
    assert form_page.selected("ttl") == [str(7 * DAY)]
    assert "7 days" in [o.text.strip() for o in form_page.options("ttl")]
    # The generate form offers the very same lifetimes.
    generate = [int(option.get("value") or "") for option in form_page.options("generate-ttl")]
    assert generate == values
    assert form_page.selected("generate-ttl") == [str(7 * DAY)]


@pytest.mark.parametrize(
    ("overrides", "low", "high"),
    [
        ({"ttl_min": 2 * HOUR}, 2 * HOUR, 7 * DAY),
        ({"ttl_max_anonymous": DAY, "ttl_default": HOUR}, MINUTE, DAY),
        ({"ttl_cap": 3 * DAY}, MINUTE, 3 * DAY),
    ],
)
async def test_lifetimes_follow_configured_limits(
    app_factory: Callable[..., Any], overrides: dict[str, int], low: int, high: int
) -> None:
    async with app_factory(**overrides) as env:
        form_page = page(await env.client.get("/"))
    values = [int(option.get("value") or "") for option in form_page.options("ttl")]
    assert values
    assert all(low <= value <= high for value in values), values
    assert len(form_page.selected("ttl")) == 1, "exactly one lifetime is preselected"


async def test_lifetimes_when_the_minimum_is_between_choices(
    app_factory: Callable[..., Any],
) -> None:
    # Even if no standard choice fits, the form must offer something valid.
    async with app_factory(ttl_min=5 * DAY, ttl_max_anonymous=6 * DAY, ttl_default=5 * DAY) as env:
        form_page = page(await env.client.get("/"))
        values = [int(option.get("value") or "") for option in form_page.options("ttl")]
        assert values
        assert all(5 * DAY <= value <= 6 * DAY for value in values), values
        shared = await create(env.client, ttl=str(values[0]))
        assert "Not yet opened" in await receipt_state(env.client, shared)


async def test_create_redirects_to_the_receipt_with_both_links(env: InProcess) -> None:
    response = await env.client.post("/", data={"secret": SECRET, "ttl": str(HOUR)})
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/receipt/")
    assert location.endswith("?created=1")
    receipt_key = location.removeprefix("/receipt/").removesuffix("?created=1")

    receipt = await env.client.get(location)
    assert receipt.status_code == 200
    receipt_page = page(receipt)
    share_url = receipt_page.by_id("share-link").get("value") or ""
    assert share_url.startswith("http://testserver/secret/")
    assert (
        receipt_page.by_id("receipt-link").get("value")
        == f"http://testserver/receipt/{receipt_key}"
    )
    assert "Not yet opened" in receipt_page.by_id("state").text
    assert "1 hour" in receipt_page.text
    # The secret itself is never shown back to its creator.
    assert SECRET not in receipt.text
    # Both links are labelled for people using a screen reader.
    assert receipt_page.label_for("share-link").text.strip()
    assert receipt_page.label_for("receipt-link").text.strip()


async def test_created_secret_can_be_revealed(env: InProcess) -> None:
    shared = await create(env.client, SECRET)
    assert revealed_value(await reveal(env.client, shared)) == SECRET


async def test_receipt_page_without_created_flag_has_its_own_heading(env: InProcess) -> None:
    shared = await create(env.client)
    plain = page(await env.client.get(shared.receipt_path))
    created = page(await env.client.get(shared.receipt_path + "?created=1"))
    assert plain.h1 != created.h1


async def test_multiline_and_unicode_content_survive(env: InProcess) -> None:
    text = "\nfirst line starts after a newline\n  indented: ключ 🔑 \t tab\n\n"
    shared = await create(env.client, text)
    assert revealed_value(await reveal(env.client, shared)) == text


@pytest.mark.parametrize("blank", ["", "   \n\t  "])
async def test_empty_secret_re_renders_the_form(env: InProcess, blank: str) -> None:
    response = await env.client.post(
        "/", data={"secret": blank, "passphrase": "sesame-open", "ttl": str(DAY)}
    )
    assert response.status_code == 422
    form_page = page(response)
    assert form_page.by_id("create-form").get("action") == "/"
    alert = form_page.one("p", role="alert")
    assert "did not provide anything" in alert.text
    assert "sesame-open" not in response.text
    assert form_page.by_id("passphrase").get("value") in (None, "")


async def test_oversized_secret_keeps_the_typed_text_but_not_the_passphrase(env: InProcess) -> None:
    limit = env.settings.secret_max_bytes
    typed = "Zq" * (limit // 2) + "overflow"
    passphrase = "sesame-open-sesame"
    response = await env.client.post(
        "/", data={"secret": typed, "passphrase": passphrase, "ttl": str(DAY)}
    )
    assert response.status_code == 422
    form_page = page(response)
    assert "limit" in form_page.one("p", role="alert").text
    assert f"{limit:,}" in form_page.one("p", role="alert").text
    assert form_page.text_of(form_page.field("secret")) == typed
    assert passphrase not in response.text
    # The lifetime the person picked is kept too.
    assert form_page.selected("ttl") == [str(DAY)]
    assert response.headers["cache-control"] == "no-store"


async def test_typed_text_is_escaped_when_re_rendered(env: InProcess) -> None:
    typed = "</textarea><script>alert(1)</script>" * 600
    response = await env.client.post("/", data={"secret": typed})
    assert response.status_code == 422
    assert "<script>alert(1)" not in response.text
    form_page = page(response)
    assert form_page.text_of(form_page.field("secret")) == typed
    assert not form_page.foreign_scripts()


async def test_text_starting_with_a_newline_is_kept_when_re_rendered(env: InProcess) -> None:
    typed = "\n" + "x" * (env.settings.secret_max_bytes + 1)
    response = await env.client.post("/", data={"secret": typed})
    assert response.status_code == 422
    form_page = page(response)
    assert form_page.text_of(form_page.field("secret")) == typed


async def test_bad_passphrase_re_renders_without_it(env: InProcess) -> None:
    response = await env.client.post("/", data={"secret": SECRET, "passphrase": "abc"})
    assert response.status_code == 422
    form_page = page(response)
    assert "at least 4" in form_page.one("p", role="alert").text
    assert form_page.text_of(form_page.field("secret")) == SECRET
    assert 'value="abc"' not in response.text


async def test_invalid_lifetime_is_a_clear_error(env: InProcess) -> None:
    response = await env.client.post("/", data={"secret": SECRET, "ttl": "forever"})
    assert response.status_code == 422
    form_page = page(response)
    assert "ttl" in form_page.one("p", role="alert").text.lower()
    assert form_page.text_of(form_page.field("secret")) == SECRET
    # The form still offers a valid choice.
    assert len(form_page.selected("ttl")) == 1


async def test_posted_lifetime_beyond_the_maximum_is_clamped(env: InProcess) -> None:
    shared = await create(env.client, ttl=str(30 * DAY))
    receipt = page(await env.client.get(shared.receipt_path))
    assert "7 days" in receipt.text
    assert "30 days" not in receipt.text


async def test_required_passphrase_is_marked_and_enforced(app_factory: Callable[..., Any]) -> None:
    async with app_factory(passphrase_required=True) as env:
        form_page = page(await env.client.get("/"))
        assert "required" in form_page.by_id("passphrase").attrs
        response = await env.client.post("/", data={"secret": SECRET})
        assert response.status_code == 422
        assert "passphrase is required" in page(response).one("p", role="alert").text


async def test_multipart_form_without_files_works(env: InProcess) -> None:
    boundary = "----onetime-test"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="secret"\r\n\r\n'
        "sent as multipart\r\n"
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="ttl"\r\n\r\n'
        "3600\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    response = await env.client.post(
        "/", content=body, headers={"content-type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status_code == 303
    receipt_key = response.headers["location"].removeprefix("/receipt/").removesuffix("?created=1")
    receipt = page(await env.client.get(f"/receipt/{receipt_key}"))
    secret_path = "/secret/" + (receipt.by_id("share-link").get("value") or "").rsplit("/", 1)[1]
    assert revealed_value(await env.client.post(secret_path)) == "sent as multipart"


async def test_uploaded_files_are_refused(env: InProcess) -> None:
    # Nothing is spooled to disk and left open: filterwarnings=error would catch a leaked file.
    response = await env.client.post(
        "/", data={"secret": "text"}, files={"attachment": ("notes.txt", b"file content")}
    )
    assert response.status_code == 422
    assert page(response).h1


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"secret": "json is for the API"}'),
        ("multipart/form-data", b"no boundary at all"),
        ("text/plain", b"secret=plain"),
    ],
)
async def test_other_bodies_are_a_clear_422(env: InProcess, content_type: str, body: bytes) -> None:
    response = await env.client.post("/", content=body, headers={"content-type": content_type})
    assert response.status_code == 422
    shown = page(response)
    assert shown.h1
    assert "Traceback" not in response.text


async def test_raw_form_encoding_oddities(env: InProcess) -> None:
    # Broken percent-escapes are kept as typed; a repeated field counts once (the last one).
    for raw, expected in ((b"secret=%zz%25", "%zz%"), (b"secret=a&secret=b", "b")):
        response = await env.client.post(
            "/", content=raw, headers={"content-type": "application/x-www-form-urlencoded"}
        )
        assert response.status_code == 303
        receipt = page(await env.client.get(response.headers["location"]))
        share = (receipt.by_id("share-link").get("value") or "").removeprefix("http://testserver")
        assert revealed_value(await env.client.post(share)) == expected


async def test_the_create_page_has_the_promised_parts(env: InProcess) -> None:
    shown = page(await env.client.get("/"))
    for element_id, tag in (
        ("secret", "textarea"),
        ("passphrase", "input"),
        ("toggle-passphrase", "button"),
        ("ttl", "select"),
        ("create-button", "button"),
        ("length", "input"),
        ("symbols", "input"),
        ("generate-ttl", "select"),
        ("generate-passphrase", "input"),
        ("generate-button", "button"),
    ):
        assert shown.by_id(element_id).tag == tag, element_id
    toggle = shown.by_id("toggle-passphrase")
    assert "hidden" in toggle.attrs
    assert toggle.get("type") == "button"
    assert len(shown.all("h1")) == 1
    assert shown.find("script", src="/static/app.js")


async def test_instructions_are_shown_above_the_form(app_factory: Callable[..., Any]) -> None:
    async with app_factory(instructions="Use this for <work> only.") as env:
        response = await env.client.get("/")
        shown = page(response)
        assert shown.one("p", **{"class": "instructions"}).text == "Use this for <work> only."
        assert "<work>" not in response.text
