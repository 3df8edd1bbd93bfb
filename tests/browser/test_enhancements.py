"""What JavaScript adds on top of the plain pages: copy buttons, the passphrase toggle, the
theme switch and the language switcher (desktop, light theme).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, expect

from tests.browser.kit import Browsing, Tab, create_secret, reveal, revealed_text, sample_text

pytestmark = pytest.mark.slow


SUBMIT = "button[type=submit], button:not([type]), input[type=submit]"


def clipboard(tab: Tab) -> str:
    text: str = tab.page.evaluate("navigator.clipboard.readText()")
    return text


def expect_clipboard(tab: Tab, expected: str) -> None:
    """The copy happens in a promise: give it a moment."""
    seen = ""
    for _ in range(20):
        seen = clipboard(tab)
        if seen == expected:
            return
        tab.page.wait_for_timeout(100)
    assert seen == expected


def submit_preference(tab: Tab, name: str, value: str, attribute: str) -> None:
    """Pick `value` for `name` in its form posting to /preferences, the way a person would.

    A select may apply or submit itself when it changes (with JavaScript); otherwise press the
    form's visible button. Radio buttons, or one button per choice, work too.
    """
    page = tab.page
    form = page.locator(f'form[action="/preferences"]:has([name="{name}"])')
    expect(form).to_have_count(1)
    control = form.locator(f'[name="{name}"]')
    kind = control.first.evaluate("el => el.tagName.toLowerCase() + ':' + (el.type || '')")
    if kind.startswith("button"):  # one button per choice
        form.locator(f'button[name="{name}"][value="{value}"]').click()
        page.wait_for_load_state("networkidle")
        return
    before = page.url, _html(tab).get_attribute(attribute)
    if kind.startswith("select"):
        control.select_option(value)
    else:
        form.locator(f'[name="{name}"][value="{value}"]').check()
    for _ in range(5):  # did a script submit the form or apply the choice by itself?
        page.wait_for_timeout(100)
        if (page.url, _html(tab).get_attribute(attribute)) != before:
            break
    else:
        form.locator(SUBMIT).filter(visible=True).first.click()
    # A script may remember the choice with a request of its own: let it finish.
    page.wait_for_load_state("networkidle")


def _html(tab: Tab) -> Locator:
    return tab.page.locator("html")


def test_copy_share_link_and_copy_secret(browsing: Browsing) -> None:
    creator = browsing.open("/", clipboard=True)
    text = sample_text("copy")
    shared = create_secret(creator, text)
    creator.page.locator("#copy-share-link").click()
    expect_clipboard(creator, shared.share_url)

    recipient = browsing.open(shared.share_url, clipboard=True)
    reveal(recipient)
    assert revealed_text(recipient) == text
    recipient.page.locator("#copy-secret").click()
    expect_clipboard(recipient, text)


def test_passphrase_toggle_shows_and_hides(browsing: Browsing) -> None:
    tab = browsing.open("/")
    field = tab.page.locator("#passphrase")
    toggle = tab.page.locator("#toggle-passphrase")
    field.fill("hidden words")
    expect(field).to_have_attribute("type", "password")
    toggle.click()
    expect(field).to_have_attribute("type", "text")
    expect(field).to_have_value("hidden words")
    toggle.click()
    expect(field).to_have_attribute("type", "password")


def test_passphrase_toggle_needs_javascript(browsing: Browsing) -> None:
    """Without JavaScript a toggle could not work, so it is not shown."""
    tab = browsing.open("/", js=False)
    expect(tab.page.locator("#passphrase")).to_be_visible()
    expect(tab.page.locator("#toggle-passphrase")).to_be_hidden()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_theme_switch(browsing: Browsing, js: bool) -> None:
    tab = browsing.open("/", js=js)
    html = _html(tab)
    submit_preference(tab, "theme", "dark", "data-theme")
    expect(html).to_have_attribute("data-theme", "dark")
    tab.goto("/")  # the choice is remembered
    expect(html).to_have_attribute("data-theme", "dark")
    submit_preference(tab, "theme", "light", "data-theme")
    expect(html).to_have_attribute("data-theme", "light")
    submit_preference(tab, "theme", "system", "data-theme")  # follow the system again
    expect(tab.page.locator("html[data-theme]")).to_have_count(0)
    tab.goto("/")
    expect(tab.page.locator("html[data-theme]")).to_have_count(0)


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_language_switcher(browsing: Browsing, js: bool) -> None:
    tab = browsing.open("/", js=js)
    html = _html(tab)
    expect(html).to_have_attribute("lang", "en")
    submit_preference(tab, "lang", "fr", "lang")
    expect(html).to_have_attribute("lang", "fr")
    tab.goto("/")
    expect(html).to_have_attribute("lang", "fr")
    submit_preference(tab, "lang", "de", "lang")
    expect(html).to_have_attribute("lang", "de")
