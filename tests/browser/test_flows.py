"""Every basic flow in a real browser: light and dark, desktop and phone, JavaScript on and off.

Each flow ends with the recipient in a fresh browser context, as when a link travels by chat.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.kit import (
    THEMES,
    VIEWPORTS,
    Browsing,
    choose,
    create_secret,
    expect_gone,
    read_share,
    receipt_state,
    reveal,
    revealed_text,
    sample_text,
    value_of,
)

pytestmark = pytest.mark.slow

COMBINATIONS = [
    pytest.param(theme, viewport, js, id=f"{theme}-{viewport}-{'js' if js else 'nojs'}")
    for theme in THEMES
    for viewport in VIEWPORTS
    for js in (True, False)
]
every_combination = pytest.mark.parametrize(("theme", "viewport", "js"), COMBINATIONS)
PASSPHRASE = "purple elephants dance at noon"


@every_combination
def test_create_share_reveal_then_gone(
    browsing: Browsing, theme: str, viewport: str, js: bool
) -> None:
    look = {"theme": theme, "viewport": viewport, "js": js}
    creator = browsing.open("/", **look)
    text = sample_text("flow")
    shared = create_secret(creator, text)

    page = creator.page
    expect(page.locator("#qr svg").first).to_be_visible()
    expect(page.locator("#create-another")).to_be_visible()
    if js:
        expect(page.locator("#copy-share-link")).to_be_visible()
    else:  # a copy button needs JavaScript: without it, none is shown
        expect(page.locator("#copy-share-link")).to_be_hidden()
    creator.goto(shared.receipt_url)
    unread = receipt_state(creator)

    recipient = browsing.open(shared.share_url, **look)
    reveal(recipient)
    assert revealed_text(recipient) == text
    expect(recipient.page.locator("#gone-note")).to_be_visible()

    recipient.page.reload()  # the browser sends the reveal POST again: the secret is gone
    expect_gone(recipient)
    recipient.goto(shared.share_url)
    expect_gone(recipient)

    creator.page.reload()
    read = receipt_state(creator)
    assert read != unread
    assert re.search(r"\b(read|revealed)\b", read, re.I), read


@every_combination
def test_passphrase_wrong_then_right(
    browsing: Browsing, theme: str, viewport: str, js: bool
) -> None:
    look = {"theme": theme, "viewport": viewport, "js": js}
    creator = browsing.open("/", **look)
    text = sample_text("passphrase")
    shared = create_secret(creator, text, passphrase=PASSPHRASE)

    recipient = browsing.open(shared.share_url, **look)
    expect(recipient.page.locator("#passphrase")).to_be_visible()
    reveal(recipient, "not the passphrase")
    expect(recipient.page.locator("[role=alert]")).to_be_visible()
    expect(recipient.page.locator("#secret-value")).to_have_count(0)
    expect(recipient.page.locator("#gone")).to_have_count(0)

    reveal(recipient, PASSPHRASE)
    assert revealed_text(recipient) == text


@every_combination
def test_generate_a_password(browsing: Browsing, theme: str, viewport: str, js: bool) -> None:
    look = {"theme": theme, "viewport": viewport, "js": js}
    creator = browsing.open("/", **look)
    page = creator.page
    choose(page.locator("#length"), "24")
    page.locator("#generate-button").click()
    generated = page.locator("#generated-password")
    expect(generated).to_be_visible()
    password = value_of(generated)
    assert len(password) == 24, password
    shared = read_share(creator)

    recipient = browsing.open(shared.share_url, **look)
    reveal(recipient)
    assert revealed_text(recipient) == password


@every_combination
def test_burn_from_the_receipt(browsing: Browsing, theme: str, viewport: str, js: bool) -> None:
    look = {"theme": theme, "viewport": viewport, "js": js}
    creator = browsing.open("/", **look)
    shared = create_secret(creator, sample_text("burn"))
    creator.goto(shared.receipt_url)
    page = creator.page
    expect(page.locator("#burn-passphrase")).to_have_count(0)  # only for passphrase secrets
    page.locator("#burn-confirm").check()
    page.locator("#burn-button").click()
    expect(page.locator("#state")).to_have_text(re.compile(r"\bburned\b", re.I))
    expect(page.locator("#burn-button")).to_have_count(0)

    recipient = browsing.open(shared.share_url, **look)
    expect_gone(recipient)


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_opening_the_link_does_not_consume_it(browsing: Browsing, js: bool) -> None:
    """Only the reveal button's POST reveals: loading the page (as a preview would) does not."""
    creator = browsing.open("/", js=js)
    text = sample_text("preview")
    shared = create_secret(creator, text)

    visitor = browsing.open(shared.share_url, js=js)
    expect(visitor.page.locator("#reveal-button")).to_be_visible()
    visitor.page.reload()
    expect(visitor.page.locator("#reveal-button")).to_be_visible()

    recipient = browsing.open(shared.share_url, js=js)
    reveal(recipient)
    assert revealed_text(recipient) == text
