"""The recipient's side: click to reveal, exactly once, safe from link-preview bots."""

from __future__ import annotations

import pytest

from tests.conftest import InProcess
from tests.web.pagekit import (
    PREVIEW_AGENTS,
    Page,
    burn,
    create,
    page,
    receipt_state,
    reveal,
    revealed_value,
)

HOSTILE = "<script>alert(1)</script> & \"quotes\" 'single' <img src=x onerror=alert(2)>"


@pytest.mark.parametrize("agent", PREVIEW_AGENTS.values(), ids=PREVIEW_AGENTS.keys())
async def test_get_and_head_never_consume(env: InProcess, agent: str) -> None:
    shared = await create(env.client, "still here")
    headers = {"user-agent": agent}
    for _ in range(3):
        got = await env.client.get(shared.secret_path, headers=headers)
        assert got.status_code == 200
        assert "still here" not in got.text
        head = await env.client.head(shared.secret_path, headers=headers)
        assert head.status_code == 200
        assert head.content == b""
    assert "opened" in await receipt_state(env.client, shared)
    assert revealed_value(await reveal(env.client, shared)) == "still here"


@pytest.mark.parametrize("agent", PREVIEW_AGENTS.values(), ids=PREVIEW_AGENTS.keys())
async def test_head_alone_consumes_nothing(env: InProcess, agent: str) -> None:
    shared = await create(env.client, "head only")
    head = await env.client.head(shared.secret_path, headers={"user-agent": agent})
    assert head.status_code == 200
    assert revealed_value(await reveal(env.client, shared)) == "head only"


async def test_receipt_moves_from_new_to_opened_to_read(env: InProcess) -> None:
    shared = await create(env.client)
    assert "Not yet opened" in await receipt_state(env.client, shared)
    await env.client.get(shared.secret_path)
    opened = await receipt_state(env.client, shared)
    assert "opened" in opened
    assert "Not yet" not in opened
    await reveal(env.client, shared)
    assert "Read" in await receipt_state(env.client, shared)


async def test_reveal_page_is_a_button_not_the_secret(env: InProcess) -> None:
    shared = await create(env.client, "hidden until clicked")
    response = await env.client.get(shared.secret_path)
    reveal_page = page(response)
    form = reveal_page.by_id("reveal-form")
    assert (form.get("method") or "").lower() == "post"
    assert form.get("action") == shared.secret_path
    assert reveal_page.by_id("reveal-button").get("type") == "submit"
    assert not reveal_page.has_field("passphrase")
    assert "hidden until clicked" not in response.text


async def test_reveal_shows_escaped_content_once(env: InProcess) -> None:
    shared = await create(env.client, HOSTILE)
    response = await reveal(env.client, shared)
    assert response.status_code == 200
    assert revealed_value(response) == HOSTILE
    assert "<script>alert(1)" not in response.text
    assert "<img src=x" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; " in response.text
    shown = page(response)
    assert not shown.foreign_scripts()
    assert not shown.all("img")
    assert shown.one("label", **{"for": "secret-value"})

    again = await reveal(env.client, shared)
    assert again.status_code == 404
    assert HOSTILE not in again.text
    later = await env.client.get(shared.secret_path)
    assert later.status_code == 404
    assert page(later).h1 == page(again).h1


async def test_gone_page_is_the_same_for_unknown_expired_and_read(env: InProcess) -> None:
    read = await create(env.client, "read me")
    await reveal(env.client, read)
    expiring = await create(env.client, "expire me", ttl="60")
    burned = await create(env.client, "burn me")
    assert (await burn(env.client, burned)).status_code == 303
    env.clock.advance(61)

    forged = read.secret_key[:-1] + ("a" if read.secret_key[-1] != "a" else "b")
    bodies = {}
    for label, path in (
        ("read", read.secret_path),
        ("expired", expiring.secret_path),
        ("burned", burned.secret_path),
        ("forged", f"/secret/{forged}"),
        ("short", "/secret/abc123"),
        ("legacy-length", "/secret/" + "q" * 31),
        ("markup", "/secret/%3Cb%3Ebold%20%26amp;"),
        ("upper-case", "/secret/" + read.secret_key.upper()),
    ):
        for method in ("GET", "POST"):
            response = await env.client.request(method, path)
            assert response.status_code == 404, (label, method)
            assert response.headers["cache-control"] == "no-store"
            bodies[(label, method)] = response.text
    assert len(set(bodies.values())) == 1, "gone pages differ"
    gone = Page(next(iter(bodies.values())))
    assert gone.h1
    assert "Traceback" not in gone.html


async def test_head_on_a_gone_secret_is_404(env: InProcess) -> None:
    response = await env.client.head("/secret/nonexistent")
    assert response.status_code == 404
    assert response.content == b""


async def test_expired_secret_cannot_be_revealed_even_if_the_page_was_open(env: InProcess) -> None:
    shared = await create(env.client, "short lived", ttl="60")
    assert (await env.client.get(shared.secret_path)).status_code == 200
    env.clock.advance(60)
    assert (await reveal(env.client, shared)).status_code == 404
    assert "Expired" in await receipt_state(env.client, shared)


# -- passphrases ------------------------------------------------------------------------------


async def test_passphrase_prompt_wrong_then_right(env: InProcess) -> None:
    shared = await create(env.client, "behind a door", passphrase="open sesame")
    prompt = page(await env.client.get(shared.secret_path))
    field = prompt.field("passphrase")
    assert field.get("type") == "password"
    assert prompt.label_for(field.get("id") or "").text.strip()

    wrong = await reveal(env.client, shared, "open barley")
    assert wrong.status_code == 422
    wrong_page = page(wrong)
    assert "passphrase" in wrong_page.one("p", role="alert").text.lower()
    assert wrong_page.has_field("passphrase")
    assert "open barley" not in wrong.text
    assert "behind a door" not in wrong.text

    missing = await reveal(env.client, shared)
    assert missing.status_code == 422
    assert page(missing).one("p", role="alert").text

    # Still there after both failures.
    assert (await env.client.get(shared.secret_path)).status_code == 200
    assert revealed_value(await reveal(env.client, shared, "open sesame")) == "behind a door"
    assert (await reveal(env.client, shared, "open sesame")).status_code == 404


async def test_passphrase_guessing_is_limited(env: InProcess) -> None:
    shared = await create(env.client, "guarded", passphrase="the real one")
    for _ in range(5):
        assert (await reveal(env.client, shared, "a guess")).status_code == 422
    locked = await reveal(env.client, shared, "the real one")
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    locked_page = page(locked)
    assert "Traceback" not in locked.text
    assert "minute" in locked_page.text
    # Locked, not burned: after the lockout the right passphrase still works.
    env.clock.advance(int(locked.headers["retry-after"]))
    assert revealed_value(await reveal(env.client, shared, "the real one")) == "guarded"


async def test_passphrase_sent_for_a_secret_without_one(env: InProcess) -> None:
    shared = await create(env.client, "no door here")
    response = await reveal(env.client, shared, "unasked")
    assert revealed_value(response) == "no door here"


# -- the promised parts of each page ------------------------------------------------------------


async def test_reveal_and_revealed_pages_have_the_promised_parts(env: InProcess) -> None:
    shared = await create(env.client, "parts", passphrase="four word pass")
    prompt = page(await env.client.get(shared.secret_path))
    assert prompt.by_id("reveal-button").tag == "button"
    assert prompt.by_id("passphrase").get("type") == "password"
    toggle = prompt.by_id("toggle-passphrase")
    assert (toggle.tag, toggle.get("type")) == ("button", "button")
    assert "hidden" in toggle.attrs, "the toggle needs the script; it shows it"
    assert toggle.get("aria-controls") == "passphrase"

    wrong = page(await reveal(env.client, shared, "not it"))
    field = wrong.by_id("passphrase")
    assert field.get("aria-invalid") == "true"
    assert "reveal-error" in (field.get("aria-describedby") or "")

    shown = page(await reveal(env.client, shared, "four word pass"))
    value = shown.by_id("secret-value")
    assert (value.tag, "readonly" in value.attrs) == ("textarea", True)
    copy = shown.by_id("copy-secret")
    assert (copy.tag, copy.get("data-copy")) == ("button", "secret-value")
    assert "deleted" in shown.by_id("gone-note").text
    # Reloading would lose the secret: the language switch (a reload) is not offered here.
    assert "hidden" in shown.by_id("lang-form").attrs

    gone = page(await env.client.get(shared.secret_path))
    assert gone.by_id("gone").tag == "h1"


async def test_gone_page_switches_lead_to_the_start(env: InProcess) -> None:
    response = await env.client.get("/secret/" + "k" * 62)
    assert "k" * 62 not in response.text
    assert 'name="next" value="/"' in response.text
