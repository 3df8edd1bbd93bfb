"""The account pages in a real browser, with the mails going through a real SMTP server.

A module of its own: the live server here sends its mail to an aiosmtpd server running in this
process, and its links point at the server itself, so each test follows the links out of the
mails the way a person would: sign up and confirm, sign in, share a secret with a recipient by
mail, make an API token, reset a forgotten password, delete the account. Then the cookies, and
axe on every account page in light and dark, with screenshots, and on a 360 px phone.

Every browser here is the same client (127.0.0.1), so the server's sign-up limit per client
is switched off (ONETIME_SIGNUP_LIMIT=0); tests/web covers that limit.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from email.message import Message
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.kit import (
    THEMES,
    Browsing,
    Tab,
    create_secret,
    reveal,
    revealed_text,
    sample_text,
    words,
)
from tests.browser.test_accessibility import Checker
from tests.conftest import LiveServer, free_port, start_server, stop_server
from tests.smtp import Inbox, SmtpServer, links_in, smtp_fixture, text_of

pytestmark = pytest.mark.slow

PASSWORD = "a long and good password"
NEW_PASSWORD = "another long good password"
DAY = 24 * 60 * 60
MAIL_WAIT_S = 5.0
PHONE_WIDTH = 360


# -- fixtures: an SMTP server in this process, and a live server that mails to it ---------------


@pytest.fixture(scope="module")
def mail() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd, in a thread of this process) for the module's server."""
    yield from smtp_fixture()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, mail: SmtpServer) -> Iterator[LiveServer]:
    """A real server that mails through `mail`; links in its mails point at itself."""
    root = tmp_path_factory.mktemp("browser-accounts")
    port = free_port()
    live = start_server(
        root / "data",
        root / "server.log",
        extra_env={
            "ONETIME_CREATE_LIMIT": "0",
            "ONETIME_SIGNUP_LIMIT": "0",
            "ONETIME_SITE_HOST": f"127.0.0.1:{port}",
            "ONETIME_SMTP_URL": f"smtp://127.0.0.1:{mail.port}",
        },
        port=port,
    )
    yield live
    stop_server(live)


# -- reading the mail ---------------------------------------------------------------------------


def mails_to(inbox: Inbox, address: str) -> list[Message]:
    return [
        message
        for envelope, message in zip(inbox.envelopes, inbox.messages(), strict=True)
        if address in envelope.rcpt_tos
    ]


def wait_for_mail(inbox: Inbox, address: str, count: int) -> Message:
    """The `count`-th mail to `address` (1 is the first), once it has arrived."""
    deadline = time.monotonic() + MAIL_WAIT_S
    while True:
        mails = mails_to(inbox, address)
        if len(mails) >= count:
            return mails[count - 1]
        assert time.monotonic() < deadline, f"mail number {count} to {address} did not arrive"
        time.sleep(0.05)


def link_in(message: Message, origin: str, prefix: str) -> str:
    """The one link in a message to a path on the server that starts with `prefix`."""
    found = [link for link in links_in(message) if link.startswith(origin + prefix)]
    assert len(found) == 1, (prefix, links_in(message))
    return found[0]


# -- the steps of an account --------------------------------------------------------------------


def address_for(name: str) -> str:
    return f"{name}@example.com"


def sign_up(tab: Tab, address: str, password: str = PASSWORD) -> None:
    tab.goto("/signup")
    page = tab.page
    page.locator("#email").fill(address)
    page.locator("#password").fill(password)
    page.locator("#signup-button").click()
    expect(page.locator("#sent-to")).to_contain_text(address)


def confirm(tab: Tab, link: str) -> None:
    """Open a confirmation link from a mail and press its button."""
    tab.goto(link)
    page = tab.page
    page.locator("#confirm-button").click()
    expect(page).to_have_url(tab.url("/signin?done=verified"))
    expect(page.locator("#notice")).to_contain_text("confirmed")


def sign_in(tab: Tab, address: str, password: str = PASSWORD) -> None:
    """Fill the sign-in form and send it (whether it works is for the caller to check)."""
    tab.goto("/signin")
    page = tab.page
    page.locator("#email").fill(address)
    page.locator("#password").fill(password)
    page.locator("#signin-button").click()


def expect_signed_in(tab: Tab) -> None:
    page = tab.page
    expect(page).to_have_url(tab.url("/account"))
    expect(page.locator("#nav-account")).to_be_visible()
    expect(page.locator("#nav-recent")).to_be_visible()
    expect(page.locator("#signout-button")).to_be_visible()
    expect(page.locator("#nav-signin")).to_have_count(0)


def expect_signed_out(tab: Tab) -> None:
    page = tab.page
    expect(page.locator("#nav-signin")).to_be_visible()
    expect(page.locator("#nav-account")).to_have_count(0)
    expect(page.locator("#signout-button")).to_have_count(0)


def new_account(browsing: Browsing, mail: SmtpServer, address: str, *, theme: str = "light") -> Tab:
    """Sign up, confirm through the mail and sign in: a tab on the account page."""
    tab = browsing.open("/", theme=theme)
    sign_up(tab, address)
    confirm(tab, link_in(wait_for_mail(mail.inbox, address, 1), tab.origin, "/account/verify/"))
    sign_in(tab, address)
    expect_signed_in(tab)
    return tab


def ttl_choices(tab: Tab) -> list[int]:
    values: list[str] = tab.page.locator("#ttl option").evaluate_all(
        "options => options.map(o => o.value)"
    )
    return [int(value) for value in values]


def receipt_key(receipt_url: str) -> str:
    return urlsplit(receipt_url).path.rsplit("/", 1)[-1]


def recent_row(tab: Tab, key: str) -> str:
    """The words of the recent list's row for the receipt `key`."""
    page = tab.page
    rows = page.locator("#recent tbody tr").filter(has=page.locator(f'a[href="/receipt/{key}"]'))
    expect(rows).to_have_count(1)
    return words(rows)


# -- the flows ----------------------------------------------------------------------------------


def test_sign_up_confirm_sign_in_and_out(browsing: Browsing, mail: SmtpServer) -> None:
    address = address_for("grace")
    tab = browsing.open("/")
    expect_signed_out(tab)
    tab.page.locator("#nav-signin").click()
    tab.page.locator("#signup-link").click()
    expect(tab.page).to_have_url(tab.url("/signup"))
    sign_up(tab, address)
    link = link_in(wait_for_mail(mail.inbox, address, 1), tab.origin, "/account/verify/")

    # Opening the link only shows the button: nothing is confirmed yet.
    tab.goto(link)
    expect(tab.page.locator("#confirm-button")).to_be_visible()
    expect(tab.page.locator("h1")).to_contain_text("Confirm")
    other = browsing.open(None)
    sign_in(other, address)
    expect(other.page.locator("#form-error")).to_contain_text("confirm your email address first")
    expect(other.page.locator("#email")).to_have_value(address)
    expect(other.page.locator("#password")).to_have_value("")
    assert other.context.cookies() == []
    wait_for_mail(mail.inbox, address, 2)  # signing in before confirming sent a new link

    # The first link still works; its button confirms.
    tab.page.locator("#confirm-button").click()
    expect(tab.page).to_have_url(tab.url("/signin?done=verified"))
    expect(tab.page.locator("#notice")).to_contain_text("confirmed")
    sign_in(tab, address)
    expect_signed_in(tab)
    expect(tab.page.locator("#nav-account")).to_have_attribute("aria-current", "page")
    expect(tab.page.locator("#account-email")).to_have_text(address)
    expect(tab.page.locator("#account-plan")).to_have_text("Free")
    expect(tab.page.locator("#account-longest")).to_have_text("14 days")

    # Exactly one cookie, out of scripts' reach, not sent along with cross-site requests.
    [cookie] = tab.context.cookies()
    assert cookie["domain"] == "127.0.0.1", cookie
    assert cookie["path"] == "/", cookie
    assert cookie["httpOnly"] is True, cookie
    assert cookie["sameSite"] == "Lax", cookie
    assert cookie["expires"] == -1, "a cookie for the browser session only"
    assert tab.page.evaluate("document.cookie") == ""

    tab.page.locator("#nav-recent").click()
    expect(tab.page).to_have_url(tab.url("/account/recent"))
    expect(tab.page.locator("#recent-empty")).to_be_visible()
    expect(tab.page.locator("#nav-recent")).to_have_attribute("aria-current", "page")

    tab.page.locator("#signout-button").click()
    expect(tab.page).to_have_url(tab.url("/"))
    expect_signed_out(tab)
    assert tab.context.cookies() == []
    tab.goto("/account")
    expect(tab.page).to_have_url(tab.url("/signin?next=/account"))


def test_anonymous_visits_set_no_cookie(browsing: Browsing) -> None:
    tab = browsing.open("/")
    expect(tab.page.locator("#create-form")).to_be_visible()
    assert tab.context.cookies() == []
    for path in ("/signin", "/signup", "/forgot"):
        tab.goto(path)
        expect(tab.page.locator("main form")).to_be_visible()
    assert tab.context.cookies() == []


def test_secret_mailed_to_a_recipient(browsing: Browsing, mail: SmtpServer) -> None:
    anonymous = browsing.open("/")
    expect(anonymous.page.locator("#secret")).to_be_visible()
    expect(anonymous.page.locator("#recipient")).to_have_count(0)
    assert 14 * DAY not in ttl_choices(anonymous)
    assert max(ttl_choices(anonymous)) == 7 * DAY

    creator = new_account(browsing, mail, address_for("carol"))
    creator.goto("/")
    page = creator.page
    assert max(ttl_choices(creator)) == 14 * DAY
    bob = "bob@example.org"
    page.locator("#recipient").fill(bob)
    page.locator("#ttl").select_option(str(14 * DAY))
    text = sample_text("mailed")
    shared = create_secret(creator, text)
    expect(page.locator("#mailed")).to_contain_text("bo***@e***.org")
    assert bob not in page.content()
    expect(page.locator("main")).to_contain_text("expires in 14 days")

    message = wait_for_mail(mail.inbox, bob, 1)
    link = link_in(message, creator.origin, "/secret/")
    assert link == shared.share_url
    body = text_of(message)
    assert "/receipt/" not in body
    assert "/private/" not in body
    assert text.splitlines()[0] not in body

    recipient = browsing.open(link)  # another browser: no cookies, no session
    assert recipient.context.cookies() == []
    reveal(recipient)
    assert revealed_text(recipient) == text

    creator.goto("/account/recent")
    row = recent_row(creator, receipt_key(shared.receipt_url))
    assert "Read" in row, row
    assert "bo***@e***.org" in row, row


def test_api_token_is_shown_once_and_works(
    browsing: Browsing, mail: SmtpServer, server: LiveServer
) -> None:
    address = address_for("dave")
    tab = new_account(browsing, mail, address)
    page = tab.page
    tab.goto("/")
    shared = create_secret(tab, sample_text("token"))

    tab.goto("/account")
    expect(page.locator("#api-token")).to_have_count(0)
    expect(page.locator("#token-button")).to_have_text("Create a token")
    page.locator("#token-button").click()
    box = page.locator("#api-token")
    expect(box).to_be_visible()
    token = box.input_value()
    assert re.fullmatch(r"[0-9a-f]{40}", token), token
    expect(page.locator("#copy-api-token")).to_be_visible()
    expect(page.locator("#lang-form")).to_be_hidden()  # no language switch to reload it

    tab.goto("/account")  # the token is gone from the page
    expect(page.locator("#api-token")).to_have_count(0)
    assert token not in page.content()
    expect(page.locator("#token-button")).to_have_text("Replace the token")

    listed = httpx.get(f"{server.url}/api/v2/receipt/recent", auth=(address, token), timeout=10)
    assert listed.status_code == 200, listed.text
    keys = [record["key"] for record in listed.json()["records"]]
    assert keys == [receipt_key(shared.receipt_url)]
    wrong = httpx.get(f"{server.url}/api/v2/receipt/recent", auth=(address, "0" * 40), timeout=10)
    assert wrong.status_code == 401


def test_forgotten_password(browsing: Browsing, mail: SmtpServer) -> None:
    address = address_for("erin")
    tab = new_account(browsing, mail, address)
    page = tab.page
    tab.goto("/")
    create_secret(tab, sample_text("before the reset"))
    page.locator("#signout-button").click()
    expect_signed_out(tab)

    tab.goto("/signin")
    page.locator("#forgot-link").click()
    expect(page).to_have_url(tab.url("/forgot"))
    page.locator("#email").fill(address)
    page.locator("#forgot-button").click()
    expect(page.locator("#sent-to")).to_contain_text(address)
    link = link_in(wait_for_mail(mail.inbox, address, 2), tab.origin, "/account/reset/")

    reader = browsing.open(link)  # opened from the mail, in a browser of its own
    expect(reader.page.locator("#reset-effects")).to_be_visible()
    reader.page.locator("#password").fill(NEW_PASSWORD)
    reader.page.locator("#reset-button").click()
    expect(reader.page).to_have_url(reader.url("/signin?done=reset"))
    expect(reader.page.locator("#notice")).to_contain_text("new password is set")

    sign_in(reader, address, PASSWORD)
    expect(reader.page.locator("#form-error")).to_be_visible()
    assert reader.context.cookies() == []
    sign_in(reader, address, NEW_PASSWORD)
    expect_signed_in(reader)
    reader.goto("/account/recent")
    expect(reader.page.locator("#locked")).to_contain_text("1 older secret is not listed")

    reader.goto(link)  # the link worked once
    expect(reader.page.locator("#reset-button")).to_have_count(0)


def test_delete_account(browsing: Browsing, mail: SmtpServer) -> None:
    address = address_for("frank")
    tab = new_account(browsing, mail, address)
    page = tab.page
    page.locator("#delete-password").fill(PASSWORD)
    page.locator("#delete-button").click()  # the box is not ticked: the browser says so
    expect(page).to_have_url(tab.url("/account"))
    assert page.locator("#delete-confirm").evaluate("box => !box.validity.valid")

    page.locator("#delete-confirm").check()
    page.locator("#delete-button").click()
    expect(page).to_have_url(tab.url("/account/deleted"))
    expect(page.locator("#deleted")).to_be_visible()
    expect_signed_out(tab)
    assert tab.context.cookies() == []

    sign_in(tab, address)
    expect(page).to_have_url(tab.url("/signin"))
    expect(page.locator("#form-error")).to_be_visible()
    assert tab.context.cookies() == []


# -- accessibility, screenshots, phones -----------------------------------------------------------


@pytest.mark.parametrize("theme", THEMES)
def test_account_pages_pass_axe(browsing: Browsing, mail: SmtpServer, theme: str) -> None:
    """axe on every account page; the screenshots are `{page}-{theme}-desktop.png`."""
    check = Checker()
    address = address_for("alice" if theme == "light" else "alice.dark")
    tab = browsing.open("/signup", theme=theme)
    page = tab.page
    check(tab, "signup")
    sign_up(tab, address)
    check(tab, "signup-sent")
    link = link_in(wait_for_mail(mail.inbox, address, 1), tab.origin, "/account/verify/")
    tab.goto(link)
    check(tab, "confirm")
    page.locator("#confirm-button").click()
    expect(page.locator("#notice")).to_be_visible()
    check(tab, "signin-confirmed")
    sign_in(tab, address, "not the password at all")
    expect(page.locator("#form-error")).to_be_visible()
    check(tab, "signin-error")
    tab.goto("/signin")
    check(tab, "signin")
    sign_in(tab, address)
    expect_signed_in(tab)
    check(tab, "account")

    tab.goto("/account/recent")
    check(tab, "recent-empty")
    tab.goto("/")
    check(tab, "create-signed-in")
    page.locator("#recipient").fill("bob@example.org")
    read = create_secret(tab, "Door code for the office: 4711")
    check(tab, "share-mailed")
    tab.goto("/")
    create_secret(tab, "Wi-Fi for guests: Tulip-Anchor-7-Meadow")
    recipient = browsing.open(read.share_url, theme=theme)
    reveal(recipient)
    tab.goto("/account/recent")
    expect(page.locator("#recent tbody tr")).to_have_count(2)
    check(tab, "recent")

    tab.goto("/account")
    page.locator("#token-button").click()
    expect(page.locator("#api-token")).to_be_visible()
    check(tab, "account-token")

    tab.goto("/forgot")
    check(tab, "forgot")
    page.locator("#email").fill(address)
    page.locator("#forgot-button").click()
    expect(page.locator("#sent-to")).to_be_visible()
    check(tab, "forgot-sent")
    link = link_in(wait_for_mail(mail.inbox, address, 2), tab.origin, "/account/reset/")
    tab.goto(link)
    check(tab, "reset")

    tab.goto("/account")
    page.locator("#delete-password").fill(PASSWORD)
    page.locator("#delete-confirm").check()
    page.locator("#delete-button").click()
    expect(page.locator("#deleted")).to_be_visible()
    check(tab, "account-deleted")
    check.assert_clean()


@pytest.mark.parametrize("theme", THEMES)
def test_account_pages_on_a_phone(browsing: Browsing, mail: SmtpServer, theme: str) -> None:
    """On a 360 px phone, nothing scrolls sideways; axe is run and screenshots are taken."""
    check = Checker()
    address = address_for(f"phone.{theme}")
    tab = browsing.open("/signup", theme=theme, viewport="phone")
    page = tab.page
    sideways: list[str] = []

    def look(name: str) -> None:
        check(tab, name)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE_WIDTH:
            sideways.append(f"{name}: {width} px")

    look("signup")
    sign_up(tab, address)
    confirm(tab, link_in(wait_for_mail(mail.inbox, address, 1), tab.origin, "/account/verify/"))
    look("signin")
    sign_in(tab, address)
    expect_signed_in(tab)
    look("account")
    tab.goto("/")
    page.locator("#recipient").fill("bob.with.a.rather.long.address@example.org")
    create_secret(tab, "Door code for the office: 4711")
    tab.goto("/account/recent")
    expect(page.locator("#recent tbody tr")).to_have_count(1)
    look("recent")
    tab.goto("/account")
    page.locator("#token-button").click()
    expect(page.locator("#api-token")).to_be_visible()
    look("account-token")
    tab.goto("/forgot")
    look("forgot")
    assert not sideways, f"pages scroll sideways on a {PHONE_WIDTH} px phone: {sideways}"
    check.assert_clean()
