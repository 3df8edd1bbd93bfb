"""The creator's receipt page: state, links, and burning."""

from __future__ import annotations

import re

import pytest

from tests.conftest import InProcess
from tests.web.pagekit import burn, create, page, receipt_state, reveal, revealed_value


async def test_burn_from_the_receipt(env: InProcess) -> None:
    shared = await create(env.client, "burn after reading")
    receipt = page(await env.client.get(shared.receipt_path))
    form = receipt.by_id("burn-form")
    assert form.get("action") == f"{shared.receipt_path}/burn"
    assert (form.get("method") or "").lower() == "post"
    assert not receipt.has_field("passphrase")
    confirm = receipt.by_id("burn-confirm")
    assert confirm.get("type") == "checkbox"
    assert confirm.get("name") == "confirm"
    assert "required" in confirm.attrs
    assert receipt.label_for("burn-confirm").text.strip()
    assert receipt.by_id("burn-button").get("type") == "submit"

    response = await burn(env.client, shared)
    assert response.status_code == 303
    assert response.headers["location"] == shared.receipt_path

    after = await env.client.get(shared.receipt_path)
    after_page = page(after)
    assert "Burned" in after_page.by_id("state").text
    assert not after_page.find("form", id="burn-form"), "nothing left to burn"
    assert shared.secret_key not in after.text, "the share link is not shown any more"

    assert (await env.client.get(shared.secret_path)).status_code == 404
    assert (await reveal(env.client, shared)).status_code == 404


async def test_burning_twice_is_harmless(env: InProcess) -> None:
    shared = await create(env.client)
    assert (await burn(env.client, shared)).status_code == 303
    again = await burn(env.client, shared)
    assert again.status_code == 303
    assert "Burned" in await receipt_state(env.client, shared)


async def test_burn_after_the_link_was_opened(env: InProcess) -> None:
    shared = await create(env.client)
    await env.client.get(shared.secret_path)
    assert (await burn(env.client, shared)).status_code == 303
    assert "Burned" in await receipt_state(env.client, shared)


async def test_burn_after_reveal_changes_nothing(env: InProcess) -> None:
    shared = await create(env.client)
    await reveal(env.client, shared)
    receipt = page(await env.client.get(shared.receipt_path))
    assert not receipt.find("form", id="burn-form")
    assert (await burn(env.client, shared)).status_code == 303
    assert "Read" in await receipt_state(env.client, shared)


async def test_burning_a_passphrase_secret_needs_the_passphrase(env: InProcess) -> None:
    shared = await create(env.client, "locked away", passphrase="right passphrase")
    receipt = page(await env.client.get(shared.receipt_path))
    field = receipt.field("passphrase")
    assert field.get("type") == "password"
    assert receipt.label_for(field.get("id") or "").text.strip()

    wrong = await burn(env.client, shared, passphrase="wrong passphrase")
    assert wrong.status_code == 422
    wrong_page = page(wrong)
    assert "passphrase" in wrong_page.one("p", role="alert").text.lower()
    assert "wrong passphrase" not in wrong.text
    assert "Not yet opened" in wrong_page.by_id("state").text
    assert wrong_page.has_field("passphrase"), "the person can try again"
    assert wrong.headers["cache-control"] == "no-store"

    missing = await burn(env.client, shared)
    assert missing.status_code == 422
    assert (await env.client.get(shared.secret_path)).status_code == 200

    right = await burn(env.client, shared, passphrase="right passphrase")
    assert right.status_code == 303
    assert "Burned" in await receipt_state(env.client, shared)
    assert (await reveal(env.client, shared, "right passphrase")).status_code == 404


async def test_wrong_burn_passphrase_leaves_the_secret_readable(env: InProcess) -> None:
    shared = await create(env.client, "survives", passphrase="right passphrase")
    await burn(env.client, shared, passphrase="nope nope")
    assert revealed_value(await reveal(env.client, shared, "right passphrase")) == "survives"


async def test_receipt_after_expiry_says_expired(env: InProcess) -> None:
    shared = await create(env.client, ttl="60")
    env.clock.advance(61)
    after = page(await env.client.get(shared.receipt_path))
    assert "Expired" in after.by_id("state").text
    assert not after.find("form", id="burn-form")


async def test_receipt_alias_under_private(env: InProcess) -> None:
    shared = await create(env.client)
    response = await env.client.get(f"/private/{shared.receipt_key}")
    assert response.status_code == 200
    assert (
        page(response).by_id("share-link").get("value") == f"http://testserver{shared.secret_path}"
    )


async def test_unknown_receipt_is_a_404_page(env: InProcess) -> None:
    response = await env.client.get("/receipt/doesnotexist")
    assert response.status_code == 404
    unknown = page(response)
    assert unknown.h1
    assert "Traceback" not in response.text
    burn = await env.client.post("/receipt/doesnotexist/burn")
    assert burn.status_code == 404
    assert burn.headers["content-type"].startswith("text/html")


async def test_receipt_link_does_not_reveal_the_secret(env: InProcess) -> None:
    shared = await create(env.client, "the receipt never shows this")
    for _ in range(2):
        response = await env.client.get(shared.receipt_path)
        assert "the receipt never shows this" not in response.text
    assert "Not yet opened" in await receipt_state(env.client, shared)


# -- the burn confirmation ----------------------------------------------------------------------


@pytest.mark.parametrize("fields", [{}, {"confirm": ""}])
async def test_burn_without_the_confirmation_burns_nothing(
    env: InProcess, fields: dict[str, str]
) -> None:
    shared = await create(env.client, "not so fast")
    response = await env.client.post(f"{shared.receipt_path}/burn", data=fields)
    assert response.status_code == 422
    assert response.headers["cache-control"] == "no-store"
    shown = page(response)
    alert = shown.by_id("burn-error")
    assert alert.get("role") == "alert"
    assert "confirm" in alert.text.lower()
    confirm = shown.by_id("burn-confirm")
    assert confirm.get("aria-invalid") == "true"
    assert confirm.get("aria-describedby") == "burn-error"
    assert "Not yet opened" in shown.by_id("state").text
    # The language switch on this answer leads back to the receipt, not to the burn address.
    assert f'value="{shared.receipt_path}"' in response.text
    assert "Not yet opened" in await receipt_state(env.client, shared)
    assert revealed_value(await reveal(env.client, shared)) == "not so fast"


async def test_burn_without_confirmation_checks_it_before_the_passphrase(env: InProcess) -> None:
    shared = await create(env.client, "locked", passphrase="right passphrase")
    response = await env.client.post(
        f"{shared.receipt_path}/burn", data={"passphrase": "right passphrase"}
    )
    assert response.status_code == 422
    assert page(response).by_id("burn-confirm").get("aria-invalid") == "true"
    assert page(response).by_id("burn-passphrase").get("aria-invalid") is None
    assert "Not yet opened" in await receipt_state(env.client, shared)


async def test_wrong_burn_passphrase_is_linked_to_its_field(env: InProcess) -> None:
    shared = await create(env.client, "locked", passphrase="right passphrase")
    shown = page(await burn(env.client, shared, passphrase="nope nope"))
    field = shown.by_id("burn-passphrase")
    assert field.get("aria-invalid") == "true"
    assert "burn-error" in (field.get("aria-describedby") or "")
    assert shown.by_id("burn-confirm").get("aria-invalid") is None


async def test_burn_without_confirmation_when_nothing_is_left(env: InProcess) -> None:
    shared = await create(env.client)
    await reveal(env.client, shared)
    response = await env.client.post(f"{shared.receipt_path}/burn")
    assert response.status_code == 303
    assert "Read" in await receipt_state(env.client, shared)


# -- what the share and receipt pages show --------------------------------------------------------


async def test_share_page_has_the_promised_parts(env: InProcess) -> None:
    shared = await create(env.client, "parts")
    shown = page(await env.client.get(shared.receipt_path + "?created=1"))
    link = shown.by_id("share-link")
    assert (link.tag, "readonly" in link.attrs) == ("input", True)
    assert shown.by_id("copy-share-link").get("data-copy") == "share-link"
    assert shown.by_id("copy-receipt-link").get("data-copy") == "receipt-link"
    for button in ("copy-share-link", "copy-receipt-link"):
        element = shown.by_id(button)
        assert element.tag == "button"
        assert element.get("type") == "button"
        assert "hidden" in element.attrs, "copy buttons need the script; it shows them"
    assert "readonly" in shown.by_id("receipt-link").attrs
    another = shown.by_id("create-another")
    assert (another.tag, another.get("href")) == ("a", "/")
    assert shown.by_id("burn-button").get("type") == "submit"
    assert shown.one("div", id="announcer").get("aria-live") == "polite"
    # The switches come back to this same page.
    assert 'name="next" value="' + shared.receipt_path + '?created=1"' in shown.html


async def test_qr_code_is_an_inline_svg_without_styles(env: InProcess) -> None:
    shared = await create(env.client, "scan me")
    response = await env.client.get(shared.receipt_path + "?created=1")
    shown = page(response)
    qr = shown.by_id("qr")
    assert qr.get("role") == "img"
    assert qr.get("aria-label")
    svgs = shown.inside(qr, "svg")
    assert len(svgs) == 1
    svg_start = response.text.index("<svg", response.text.index('id="qr"'))
    svg = response.text[svg_start : response.text.index("</svg>", svg_start)]
    assert "style=" not in svg
    assert "<?xml" not in response.text
    assert "<style" not in svg
    assert "href" not in svg, "nothing loaded from anywhere"
    assert shown.inside(qr, "path"), "the modules are drawn"
    assert shared.secret_key not in svg, "the link is encoded, not written out"


async def test_qr_code_encodes_the_share_link(env: InProcess) -> None:
    from onetime.web.pages import qr_svg

    shared = await create(env.client, ttl="3600")
    html = (await env.client.get(shared.receipt_path)).text
    share_url = f"http://testserver{shared.secret_path}"
    # The page shows the code of its own share link, and codes differ from link to link.
    assert str(qr_svg(share_url)) in html
    assert str(qr_svg(share_url + "x")) not in html
    assert qr_svg(share_url) == qr_svg(share_url)
    assert "style=" not in str(qr_svg(share_url))
    assert "<?xml" not in str(qr_svg(share_url))


async def test_the_states_in_words(env: InProcess) -> None:
    shared = await create(env.client, ttl="3600")
    receipt = page(await env.client.get(shared.receipt_path))
    assert "Not yet opened" in receipt.by_id("state").text
    assert "expires in 1 hour" in receipt.text

    env.clock.advance(1800)
    assert "expires in 30 minutes" in page(await env.client.get(shared.receipt_path)).text

    await reveal(env.client, shared)
    after = page(await env.client.get(shared.receipt_path))
    state = " ".join(after.by_id("state").text.split())
    assert state.startswith("Read on ")
    assert "UTC" in state
    times = after.find("time")
    assert len(times) == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", times[0].get("datetime") or "")
    assert "expires in" not in after.text
    assert not after.find("input", id="share-link")


async def test_burned_state_names_the_time(env: InProcess) -> None:
    shared = await create(env.client)
    await burn(env.client, shared)
    shown = page(await env.client.get(shared.receipt_path))
    assert shown.find("time")
    assert "Burned on" in shown.by_id("state").text
