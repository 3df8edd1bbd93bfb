"""The creator's receipt page: state, links, and burning."""

from __future__ import annotations

from tests.conftest import InProcess
from tests.web.pagekit import create, page, receipt_state, reveal, revealed_value


async def test_burn_from_the_receipt(env: InProcess) -> None:
    shared = await create(env.client, "burn after reading")
    receipt = page(await env.client.get(shared.receipt_path))
    form = receipt.one("form")
    assert form.get("action") == f"{shared.receipt_path}/burn"
    assert (form.get("method") or "").lower() == "post"
    assert not receipt.has_field("passphrase")

    response = await env.client.post(f"{shared.receipt_path}/burn")
    assert response.status_code == 303
    assert response.headers["location"] == shared.receipt_path

    after = await env.client.get(shared.receipt_path)
    after_page = page(after)
    assert "Burned" in after_page.by_id("state").text
    assert not after_page.find("form"), "nothing left to burn"
    assert shared.secret_key not in after.text, "the share link is not shown any more"

    assert (await env.client.get(shared.secret_path)).status_code == 404
    assert (await reveal(env.client, shared)).status_code == 404


async def test_burning_twice_is_harmless(env: InProcess) -> None:
    shared = await create(env.client)
    assert (await env.client.post(f"{shared.receipt_path}/burn")).status_code == 303
    again = await env.client.post(f"{shared.receipt_path}/burn")
    assert again.status_code == 303
    assert "Burned" in await receipt_state(env.client, shared)


async def test_burn_after_the_link_was_opened(env: InProcess) -> None:
    shared = await create(env.client)
    await env.client.get(shared.secret_path)
    assert (await env.client.post(f"{shared.receipt_path}/burn")).status_code == 303
    assert "Burned" in await receipt_state(env.client, shared)


async def test_burn_after_reveal_changes_nothing(env: InProcess) -> None:
    shared = await create(env.client)
    await reveal(env.client, shared)
    receipt = page(await env.client.get(shared.receipt_path))
    assert not receipt.find("form")
    assert (await env.client.post(f"{shared.receipt_path}/burn")).status_code == 303
    assert "Read" in await receipt_state(env.client, shared)


async def test_burning_a_passphrase_secret_needs_the_passphrase(env: InProcess) -> None:
    shared = await create(env.client, "locked away", passphrase="right passphrase")
    receipt = page(await env.client.get(shared.receipt_path))
    field = receipt.field("passphrase")
    assert field.get("type") == "password"
    assert receipt.label_for(field.get("id") or "").text.strip()

    wrong = await env.client.post(
        f"{shared.receipt_path}/burn", data={"passphrase": "wrong passphrase"}
    )
    assert wrong.status_code == 422
    wrong_page = page(wrong)
    assert "passphrase" in wrong_page.one("p", role="alert").text.lower()
    assert "wrong passphrase" not in wrong.text
    assert "Not yet opened" in wrong_page.by_id("state").text
    assert wrong_page.has_field("passphrase"), "the person can try again"
    assert wrong.headers["cache-control"] == "no-store"

    missing = await env.client.post(f"{shared.receipt_path}/burn")
    assert missing.status_code == 422
    assert (await env.client.get(shared.secret_path)).status_code == 200

    right = await env.client.post(
        f"{shared.receipt_path}/burn", data={"passphrase": "right passphrase"}
    )
    assert right.status_code == 303
    assert "Burned" in await receipt_state(env.client, shared)
    assert (await reveal(env.client, shared, "right passphrase")).status_code == 404


async def test_wrong_burn_passphrase_leaves_the_secret_readable(env: InProcess) -> None:
    shared = await create(env.client, "survives", passphrase="right passphrase")
    await env.client.post(f"{shared.receipt_path}/burn", data={"passphrase": "nope nope"})
    assert revealed_value(await reveal(env.client, shared, "right passphrase")) == "survives"


async def test_receipt_after_expiry_says_expired(env: InProcess) -> None:
    shared = await create(env.client, ttl="60")
    env.clock.advance(61)
    after = page(await env.client.get(shared.receipt_path))
    assert "Expired" in after.by_id("state").text
    assert not after.find("form")


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
