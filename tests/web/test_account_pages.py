"""The account pages, driven through HTTP like a browser, following the links in the mails.

Every mail goes through a real SMTP server (aiosmtpd on loopback); the tests read the links out
of the messages and open them, so each flow is what a person would do.
"""

from __future__ import annotations

import email
import email.header
import json
import re
from collections.abc import AsyncIterator, Callable
from email.message import Message
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from onetime.core.policy import DAY, MINUTE
from tests.conftest import InProcess
from tests.smtp import SmtpServer, links_in, text_of
from tests.web.pagekit import Page, create, page, reveal, revealed_value

ALICE = "alice@example.com"
PASSWORD = "a long and good password"
NEW_PASSWORD = "another long good password"
CROSS_SITE = {"sec-fetch-site": "cross-site"}


# -- helpers ------------------------------------------------------------------------------------


def mails_to(smtp: SmtpServer, address: str) -> list[Message]:
    """Every message the SMTP server accepted for `address`, oldest first."""
    return [
        email.message_from_bytes(bytes(envelope.content or b""))
        for envelope in smtp.inbox.envelopes
        if address in envelope.rcpt_tos
    ]


def link_path(message: Message, prefix: str) -> str:
    """The path of the one link in a message that starts with `prefix`."""
    paths = [urlsplit(link).path for link in links_in(message)]
    found = [path for path in paths if path.startswith(prefix)]
    assert len(found) == 1, (prefix, paths)
    return found[0]


def last_link(smtp: SmtpServer, address: str, prefix: str) -> str:
    mails = mails_to(smtp, address)
    assert mails, f"no mail to {address}"
    return link_path(mails[-1], prefix)


def set_cookies(response: httpx.Response) -> dict[str, SimpleCookie]:
    found: dict[str, SimpleCookie] = {}
    for header in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        for name in cookie:
            found[name] = cookie
    return found


def problem_text(shown: Page, error_id: str = "form-error") -> str:
    return " ".join(shown.by_id(error_id).text.split())


def csrf_of(shown: Page) -> str:
    """The CSRF token a signed-in page puts in its forms (they all carry the same one)."""
    values = {field.get("value") for field in shown.find("input", name="csrf")}
    assert len(values) == 1, values
    token = values.pop()
    assert token
    return token


async def sign_up(client: httpx.AsyncClient, address: str = ALICE) -> httpx.Response:
    return await client.post("/signup", data={"email": address, "password": PASSWORD})


async def confirm(client: httpx.AsyncClient, smtp: SmtpServer, address: str = ALICE) -> None:
    """Open the newest confirmation link sent to `address` and press its button."""
    path = last_link(smtp, address, "/account/verify/")
    assert (await client.get(path)).status_code == 200
    response = await client.post(path)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/signin?done=verified"


async def sign_in(
    client: httpx.AsyncClient, address: str = ALICE, password: str = PASSWORD, **fields: str
) -> httpx.Response:
    data = {"email": address, "password": password, **fields}
    current = client.cookies.get("session")
    if current:  # a signed-in browser's form carries its CSRF token
        data.setdefault("csrf", csrf_of(page(await client.get("/signin"))))
    return await client.post("/signin", data=data)


async def signed_up_and_in(
    client: httpx.AsyncClient, smtp: SmtpServer, address: str = ALICE
) -> str:
    """Sign up, confirm through the mail, sign in; the CSRF token of the new session."""
    assert (await sign_up(client, address)).status_code == 200
    await confirm(client, smtp, address)
    response = await sign_in(client, address)
    assert response.status_code == 303, response.text
    return csrf_of(page(await client.get("/account")))


def smtp_settings(smtp: SmtpServer) -> dict[str, Any]:
    return {"smtp_url": f"smtp://127.0.0.1:{smtp.port}"}


@pytest.fixture
async def site(app_factory: Callable[..., Any], smtp: SmtpServer) -> AsyncIterator[InProcess]:
    async with app_factory(**smtp_settings(smtp)) as running:
        yield running


# -- signing up and confirming ------------------------------------------------------------------


async def test_sign_up_form(site: InProcess) -> None:
    shown = page(await site.client.get("/signup"))
    form = shown.by_id("signup-form")
    assert form.get("method") == "post"
    assert form.get("action") == "/signup"
    address = shown.field("email")
    assert address.get("type") == "email"
    assert shown.label_for("email").text.strip()
    secret = shown.field("password")
    assert secret.get("type") == "password"
    assert secret.get("autocomplete") == "new-password"
    assert secret.get("minlength") == str(site.settings.password_min)
    assert shown.label_for("password").text.strip()


async def test_sign_up_confirm_through_the_mail_and_sign_in(
    site: InProcess, smtp: SmtpServer
) -> None:
    client = site.client
    response = await sign_up(client)
    assert response.status_code == 200
    assert ALICE in page(response).by_id("sent-to").text
    assert "set-cookie" not in response.headers

    [mail] = mails_to(smtp, ALICE)
    path = link_path(mail, "/account/verify/")

    # Opening the link (as a mail scanner would) only shows the button, as often as it likes.
    for _ in range(2):
        shown = await client.get(path)
        assert shown.status_code == 200
        form = page(shown).by_id("confirm-form")
        assert form.get("method") == "post"
        assert form.get("action") == path
    refused = await sign_in(client)
    assert refused.status_code == 403, "a GET must not confirm the address"

    confirmed = await client.post(path)
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == "/signin?done=verified"
    note = page(await client.get(confirmed.headers["location"])).by_id("notice")
    assert "confirmed" in note.text
    again = await client.post(path)
    assert again.status_code == 404, "a confirmation link works once"
    assert "does not work" in page(again).text

    signed = await sign_in(client)
    assert signed.status_code == 303
    assert signed.headers["location"] == "/account"
    assert len(signed.headers.get_list("set-cookie")) == 1
    morsel = set_cookies(signed)["session"]["session"]
    assert morsel["httponly"]
    assert morsel["samesite"].lower() == "lax"
    assert not morsel["secure"]
    assert morsel["path"] == "/"
    assert not morsel["max-age"], "a browser-session cookie"
    assert not morsel["expires"], "a browser-session cookie"

    account = page(await client.get("/account"))
    assert account.by_id("account-email").text.strip() == ALICE
    assert account.by_id("account-plan").text.strip() == "Free"
    assert account.by_id("account-longest").text.strip() == "14 days"
    assert account.by_id("account-email-delivery").text.strip() == "Yes"
    # The header now offers the account, the recent list and signing out.
    assert account.by_id("nav-account").get("aria-current") == "page"
    assert account.by_id("nav-recent").get("href") == "/account/recent"
    signout = account.by_id("signout-form")
    assert signout.get("method") == "post"
    assert signout.get("action") == "/signout"
    assert [e.get("name") for e in account.inside(signout, "input")] == ["csrf"]


async def test_sign_in_before_confirming_sends_a_new_link(
    site: InProcess, smtp: SmtpServer
) -> None:
    await sign_up(site.client)
    assert len(mails_to(smtp, ALICE)) == 1
    refused = await sign_in(site.client)
    assert refused.status_code == 403
    shown = page(refused)
    assert "confirm your email address first" in problem_text(shown)
    assert shown.field("email").get("value") == ALICE
    assert shown.field("password").get("value") is None, "a password is never sent back"
    assert "set-cookie" not in refused.headers
    mails = mails_to(smtp, ALICE)
    assert len(mails) == 2, "a new link was sent"
    await confirm(site.client, smtp)  # the newest link works
    assert (await sign_in(site.client)).status_code == 303


async def test_sign_up_problems_keep_what_was_typed(site: InProcess) -> None:
    client = site.client
    short = await client.post("/signup", data={"email": ALICE, "password": "short"})
    assert short.status_code == 422
    shown = page(short)
    assert "at least 8 characters" in problem_text(shown)
    assert shown.field("email").get("value") == ALICE
    assert shown.field("password").get("aria-invalid") == "true"
    assert shown.field("password").get("value") is None

    bad = await client.post("/signup", data={"email": "not an address", "password": PASSWORD})
    assert bad.status_code == 422
    assert page(bad).field("email").get("aria-invalid") == "true"
    assert page(bad).field("email").get("value") == "not an address"

    assert (await sign_up(client)).status_code == 200
    twice = await sign_up(client)
    assert twice.status_code == 422
    assert "exists" in problem_text(page(twice))


async def test_confirmation_mail_that_fails_is_explained(site: InProcess, smtp: SmtpServer) -> None:
    smtp.inbox.refuse.add(ALICE)
    response = await sign_up(site.client)
    assert response.status_code == 200
    problem = page(response).by_id("mail-problem")
    assert problem.get("role") == "alert"
    assert "could not" in problem.text
    assert not mails_to(smtp, ALICE)

    # The account exists: signing in sends a fresh link once mail works again.
    refused = await sign_in(site.client)
    assert refused.status_code == 403
    assert "could not send" in problem_text(page(refused))
    smtp.inbox.refuse.clear()
    assert (await sign_in(site.client)).status_code == 403
    await confirm(site.client, smtp)
    assert (await sign_in(site.client)).status_code == 303


async def test_sign_up_switched_off(app_factory: Callable[..., Any], smtp: SmtpServer) -> None:
    async with app_factory(signup_enabled=False, **smtp_settings(smtp)) as env:
        shown = await env.client.get("/signup")
        assert shown.status_code == 403
        assert "does not take new accounts" in page(shown).by_id("signup-closed").text
        assert not page(shown).has_field("password")
        posted = await sign_up(env.client)
        assert posted.status_code == 403
        assert not smtp.inbox.envelopes
        signin = page(await env.client.get("/signin"))
        assert "/signup" not in signin.references()


async def test_sign_up_only_for_allowed_domains(
    app_factory: Callable[..., Any], smtp: SmtpServer
) -> None:
    async with app_factory(signup_domains=("example.com",), **smtp_settings(smtp)) as env:
        refused = await sign_up(env.client, "bob@elsewhere.org")
        assert refused.status_code == 403
        shown = page(refused)
        assert "example.com" in problem_text(shown)
        assert shown.field("email").get("value") == "bob@elsewhere.org"
        assert shown.field("email").get("aria-invalid") == "true"
        assert not smtp.inbox.envelopes
        assert (await sign_up(env.client, ALICE)).status_code == 200
        assert len(mails_to(smtp, ALICE)) == 1


async def test_auto_verify_and_the_secure_cookie(
    app_factory: Callable[..., Any], smtp: SmtpServer
) -> None:
    async with app_factory(ssl=True, auto_verify=True, **smtp_settings(smtp)) as env:
        made = await sign_up(env.client)
        assert made.status_code == 303
        assert made.headers["location"] == "/signin?done=ready"
        assert not smtp.inbox.envelopes, "nothing to confirm"
        signed = await env.client.post("/signin", data={"email": ALICE, "password": PASSWORD})
        assert signed.status_code == 303
        assert len(signed.headers.get_list("set-cookie")) == 1
        cookies = set_cookies(signed)
        assert set(cookies) == {"__Host-session"}
        morsel = cookies["__Host-session"]["__Host-session"]
        assert morsel["secure"]
        assert morsel["httponly"]
        assert morsel["samesite"].lower() == "lax"
        assert morsel["path"] == "/"
        assert not morsel["domain"]


# -- signing in and out -------------------------------------------------------------------------


async def test_wrong_password_and_unknown_address_look_the_same(
    site: InProcess, smtp: SmtpServer
) -> None:
    await signed_up_and_in(site.client, smtp)
    site.client.cookies.clear()
    wrong = await sign_in(site.client, ALICE, "not the password at all")
    unknown = await sign_in(site.client, "nobody@example.com", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert problem_text(page(wrong)) == problem_text(page(unknown))
    assert page(wrong).field("email").get("value") == ALICE
    same_wrong = wrong.text.replace(ALICE, "ADDRESS")
    same_unknown = unknown.text.replace("nobody@example.com", "ADDRESS")
    assert same_wrong == same_unknown
    assert "set-cookie" not in wrong.headers


async def test_repeated_failures_lock_sign_in(
    app_factory: Callable[..., Any], smtp: SmtpServer
) -> None:
    async with app_factory(signin_failure_limit=3, **smtp_settings(smtp)) as env:
        await signed_up_and_in(env.client, smtp)
        env.client.cookies.clear()
        for _ in range(3):
            assert (await sign_in(env.client, ALICE, "wrong wrong wrong")).status_code == 401
        locked = await sign_in(env.client)
        assert locked.status_code == 429, "even the right password waits"
        assert int(locked.headers["retry-after"]) > 0
        shown = page(locked)
        assert "Too many failed sign-ins" in problem_text(shown)
        assert shown.field("email").get("value") == ALICE
        env.clock.advance(16 * MINUTE)
        assert (await sign_in(env.client)).status_code == 303


async def test_sign_in_goes_back_where_it_was_asked_for(site: InProcess, smtp: SmtpServer) -> None:
    client = site.client
    for path, back in (
        ("/account", "/account"),
        ("/account/recent", "/account/recent"),
        ("/account/export", "/account"),  # after signing in, a page rather than a download
    ):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/signin?next={back}"
    shown = page(await client.get("/signin?next=/account/recent"))
    kept = shown.inside(shown.by_id("signin-form"), "input")
    assert [i.get("value") for i in kept if i.get("name") == "next"] == ["/account/recent"]

    await sign_up(client)
    await confirm(client, smtp)
    back = await sign_in(client, next="/account/recent")
    assert back.headers["location"] == "/account/recent"
    client.cookies.clear()
    elsewhere = await sign_in(client, next="//evil.example/")
    assert elsewhere.headers["location"] == "/account"


async def test_signing_in_rotates_the_session(site: InProcess, smtp: SmtpServer) -> None:
    client = site.client
    await signed_up_and_in(client, smtp)
    first = client.cookies["session"]
    again = await sign_in(client)
    assert again.status_code == 303
    second = client.cookies["session"]
    assert second != first
    assert (await client.get("/account")).status_code == 200

    client.cookies.set("session", first)
    stale = await client.get("/account")
    assert stale.status_code == 303, "the old session ended"
    assert stale.headers["location"].startswith("/signin")

    client.cookies.set("session", second)
    csrf = csrf_of(page(await client.get("/account")))
    out = await client.post("/signout", data={"csrf": csrf})
    assert out.status_code == 303
    assert out.headers["location"] == "/"
    assert set_cookies(out)["session"]["session"].value == ""
    client.cookies.set("session", second)
    assert (await client.get("/account")).status_code == 303, "signed out means ended"
    home = page(await client.get("/"))
    assert home.by_id("nav-signin").get("href") == "/signin"


async def test_the_footer_tells_about_the_session_cookie(site: InProcess) -> None:
    footer = " ".join(page(await site.client.get("/")).one("footer").text.split())
    assert "one session cookie" in footer


# -- a forgotten password -----------------------------------------------------------------------


async def test_forgotten_password(site: InProcess, smtp: SmtpServer) -> None:
    client = site.client
    csrf = await signed_up_and_in(client, smtp)
    assert (await client.post("/account/token", data={"csrf": csrf})).status_code == 200
    shared = await create(client, "made before the reset", csrf=csrf)
    client.cookies.clear()

    asked = await client.post("/forgot", data={"email": ALICE})
    assert asked.status_code == 200
    assert ALICE in page(asked).by_id("sent-to").text
    path = last_link(smtp, ALICE, "/account/reset/")

    form = await client.get(path)
    assert form.status_code == 200
    field = page(form).field("password")
    assert field.get("autocomplete") == "new-password"
    assert (await client.get(path)).status_code == 200, "showing the form uses nothing up"

    weak = await client.post(path, data={"password": "short"})
    assert weak.status_code == 422
    assert page(weak).field("password").get("aria-invalid") == "true"

    done = await client.post(path, data={"password": NEW_PASSWORD})
    assert done.status_code == 303
    assert done.headers["location"] == "/signin?done=reset"
    note = page(await client.get(done.headers["location"])).by_id("notice").text
    assert "API token was revoked" in note
    assert "recent list" in note

    assert (await client.post(path, data={"password": "yet another password"})).status_code == 404
    assert (await client.get(path)).status_code == 404
    assert (await sign_in(client, ALICE, PASSWORD)).status_code == 401
    assert (await sign_in(client, ALICE, NEW_PASSWORD)).status_code == 303

    # The list entry made under the old password is counted, not shown; its receipt still works.
    listed = page(await client.get("/account/recent"))
    assert "1 older secret is not listed" in " ".join(listed.by_id("locked").text.split())
    assert (await client.get(shared.receipt_path)).status_code == 200


async def test_forgot_for_an_unknown_address_looks_the_same(
    site: InProcess, smtp: SmtpServer
) -> None:
    await sign_up(site.client)
    before = len(smtp.inbox.envelopes)
    known = await site.client.post("/forgot", data={"email": ALICE})
    unknown = await site.client.post("/forgot", data={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace(ALICE, "X") == unknown.text.replace("nobody@example.com", "X")
    assert len(smtp.inbox.envelopes) == before + 1
    assert not mails_to(smtp, "nobody@example.com")


@pytest.mark.parametrize("prefix", ["/account/verify/", "/account/reset/", "/account/email/"])
async def test_bad_links_say_so(site: InProcess, prefix: str) -> None:
    for response in (
        await site.client.get(prefix + "not-a-real-token"),
        await site.client.post(prefix + "not-a-real-token"),
        await site.client.get(prefix + "x" * 300),
    ):
        assert response.status_code == 404
        assert "used already, or it expired" in page(response).by_id("link-problem").text


# -- the account page ---------------------------------------------------------------------------


async def test_change_password(site: InProcess, smtp: SmtpServer) -> None:
    client = site.client
    csrf = await signed_up_and_in(client, smtp)
    wrong = await client.post(
        "/account/password",
        data={"csrf": csrf, "current_password": "not it at all", "new_password": NEW_PASSWORD},
    )
    assert wrong.status_code == 401
    shown = page(wrong)
    assert "not correct" in problem_text(shown, "password-error")
    assert shown.by_id("current-password").get("aria-invalid") == "true"

    short = await client.post(
        "/account/password",
        data={"csrf": csrf, "current_password": PASSWORD, "new_password": "short"},
    )
    assert short.status_code == 422
    assert page(short).by_id("new-password").get("aria-invalid") == "true"

    changed = await client.post(
        "/account/password",
        data={"csrf": csrf, "current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 303
    assert "password is changed" in page(await client.get(changed.headers["location"])).text
    client.cookies.clear()
    assert (await sign_in(client, ALICE, PASSWORD)).status_code == 401
    assert (await sign_in(client, ALICE, NEW_PASSWORD)).status_code == 303


async def test_change_email_address(site: InProcess, smtp: SmtpServer) -> None:
    client = site.client
    new_address = "alice.new@example.com"
    csrf = await signed_up_and_in(client, smtp)
    wrong = await client.post(
        "/account/email", data={"csrf": csrf, "email": new_address, "password": "nope nope"}
    )
    assert wrong.status_code == 401
    assert page(wrong).by_id("new-email").get("value") == new_address
    assert page(wrong).by_id("email-password").get("aria-invalid") == "true"

    asked = await client.post(
        "/account/email", data={"csrf": csrf, "email": new_address, "password": PASSWORD}
    )
    assert asked.status_code == 303
    assert "confirmation link" in page(await client.get(asked.headers["location"])).text
    mails_to_old = len(mails_to(smtp, ALICE))
    path = last_link(smtp, new_address, "/account/email/")
    assert len(mails_to(smtp, ALICE)) == mails_to_old, "the link goes to the new address only"

    shown = await client.get(path)
    assert shown.status_code == 200
    assert page(shown).by_id("confirm-form").get("action") == path
    assert page(await client.get("/account")).by_id("account-email").text.strip() == ALICE

    csrf = csrf_of(page(shown))
    confirmed = await client.post(path, data={"csrf": csrf})
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == "/account?done=email"
    account = page(await client.get("/account"))
    assert account.by_id("account-email").text.strip() == new_address
    assert (await client.post(path, data={"csrf": csrf})).status_code == 404

    client.cookies.clear()
    assert (await sign_in(client, ALICE)).status_code == 401
    assert (await sign_in(client, new_address)).status_code == 303


async def test_preferences_are_saved_and_used(site: InProcess, smtp: SmtpServer) -> None:
    client = site.client
    csrf = await signed_up_and_in(client, smtp)
    account = page(await client.get("/account"))
    assert account.selected("preferences-lang") == ["en"]
    assert "checked" not in account.by_id("preferences-notify").attrs

    saved = await client.post(
        "/account/preferences", data={"csrf": csrf, "lang": "fr", "notify": "1"}
    )
    assert saved.status_code == 303
    account = page(await client.get(saved.headers["location"]))
    assert "preferences are saved" in account.by_id("notice").text
    assert account.selected("preferences-lang") == ["fr"]
    assert "checked" in account.by_id("preferences-notify").attrs
    assert "set-cookie" not in saved.headers

    # "Tell me when it is read": the mail arrives, in the chosen language.
    shared = await create(client, "read me", csrf=csrf)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=site.app), base_url="http://testserver"
    ) as recipient:
        assert revealed_value(await reveal(recipient, shared)) == "read me"
    for task in list(site.app.state.context.background):
        await task
    [note] = [m for m in mails_to(smtp, ALICE) if "/account/verify/" not in text_of(m)]
    subject = str(email.header.make_header(email.header.decode_header(note["subject"])))
    assert subject == "Votre secret a été lu"
    assert "/secret/" not in text_of(note)


async def test_api_token_is_shown_once_and_works(site: InProcess, smtp: SmtpServer) -> None:
    client = site.client
    csrf = await signed_up_and_in(client, smtp)
    before = page(await client.get("/account"))
    assert before.by_id("token-button").text.strip() == "Create a token"

    made = await client.post("/account/token", data={"csrf": csrf})
    assert made.status_code == 200, "shown in the answer itself, not after a redirect"
    assert made.headers["cache-control"] == "no-store"
    shown = page(made)
    token = shown.by_id("api-token").get("value") or ""
    assert re.fullmatch(r"[0-9a-f]{40}", token)
    assert shown.by_id("copy-api-token").get("data-copy") == "api-token"
    assert "hidden" in shown.by_id("lang-form").attrs, "no language switch to reload it"

    later = await client.get("/account")
    assert token not in later.text
    assert page(later).by_id("token-button").text.strip() == "Replace the token"

    await create(client, "listed through the API", csrf=csrf)
    listed = await client.get("/api/v2/receipt/recent", auth=(ALICE, token))
    assert listed.status_code == 200, listed.text
    assert listed.json()["count"] == 1

    replaced = page(await client.post("/account/token", data={"csrf": csrf}))
    new_token = replaced.by_id("api-token").get("value") or ""
    assert new_token
    assert new_token != token
    old = await client.get("/api/v2/receipt/recent", auth=(ALICE, token))
    assert old.status_code == 401
    assert (await client.get("/api/v2/receipt/recent", auth=(ALICE, new_token))).status_code == 200


async def test_export_holds_the_account_and_its_receipts(site: InProcess, smtp: SmtpServer) -> None:
    client = site.client
    csrf = await signed_up_and_in(client, smtp)
    shared = await create(client, "exported receipt, not content", csrf=csrf)
    response = await client.get("/account/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"] == 'attachment; filename="onetime-account.json"'
    assert response.headers["cache-control"] == "no-store"
    data = json.loads(response.text)
    assert data["account"]["email"] == ALICE
    assert [r["receipt_key"] for r in data["receipts"]] == [shared.receipt_key]
    assert "exported receipt, not content" not in response.text
    assert PASSWORD not in response.text

    def keys(value: Any) -> set[str]:
        if isinstance(value, dict):
            return set(value) | {k for v in value.values() for k in keys(v)}
        if isinstance(value, list):
            return {k for v in value for k in keys(v)}
        return set()

    secret_names = re.compile(r"^(password|pw|tok|tok_key)$|salt|verifier|wrap|csrf|digest")
    assert not {k for k in keys(data) if secret_names.search(k)}


async def test_delete_account(site: InProcess, smtp: SmtpServer) -> None:
    client = site.client
    csrf = await signed_up_and_in(client, smtp)
    shared = await create(client, "gone with the account", csrf=csrf)
    cookie = client.cookies["session"]

    unticked = await client.post("/account/delete", data={"csrf": csrf, "password": PASSWORD})
    assert unticked.status_code == 422
    assert page(unticked).by_id("delete-confirm").get("aria-invalid") == "true"
    wrong = await client.post(
        "/account/delete", data={"csrf": csrf, "password": "not it at all", "confirm": "yes"}
    )
    assert wrong.status_code == 401
    assert page(wrong).by_id("delete-password").get("aria-invalid") == "true"
    assert (await client.get("/account")).status_code == 200, "nothing happened yet"

    gone = await client.post(
        "/account/delete", data={"csrf": csrf, "password": PASSWORD, "confirm": "yes"}
    )
    assert gone.status_code == 303
    assert set_cookies(gone)["session"]["session"].value == ""
    goodbye = await client.get(gone.headers["location"])
    assert goodbye.status_code == 200
    assert "deleted your account" in page(goodbye).by_id("deleted").text

    client.cookies.set("session", cookie)
    assert (await client.get("/account")).status_code == 303
    client.cookies.clear()
    assert (await sign_in(client)).status_code == 401
    assert (await client.get(shared.secret_path)).status_code == 404


# -- the recent list and creating while signed in -------------------------------------------


async def test_recent_list_and_longer_lifetimes(site: InProcess, smtp: SmtpServer) -> None:
    client = site.client
    anonymous = page(await client.get("/"))
    anonymous_ttls = [int(o.get("value") or 0) for o in anonymous.options("ttl")]
    assert max(anonymous_ttls) == 7 * DAY
    assert 14 * DAY not in anonymous_ttls
    assert not anonymous.has_field("recipient")

    csrf = await signed_up_and_in(client, smtp)
    empty = page(await client.get("/account/recent"))
    assert "Nothing here yet" in empty.by_id("recent-empty").text

    form = page(await client.get("/"))
    ttls = [int(o.get("value") or 0) for o in form.options("ttl")]
    assert 14 * DAY in ttls
    assert max(ttls) == 14 * DAY

    first = await create(client, "first", ttl=str(14 * DAY), csrf=csrf)
    second = await create(client, "second", csrf=csrf)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=site.app), base_url="http://testserver"
    ) as recipient:
        await reveal(recipient, second)
    listed = page(await client.get("/account/recent"))
    rows = listed.inside(listed.by_id("recent"), "tr")[1:]
    assert len(rows) == 2
    links = [a.get("href") for a in listed.inside(listed.by_id("recent"), "a")]
    assert set(links) == {first.receipt_path, second.receipt_path}
    words = [" ".join(row.text.split()) for row in rows]
    assert any("Not opened yet" in w for w in words)
    assert any("Read" in w for w in words)
    assert not listed.find("p", id="locked")
    assert "expires in 14 days" in page(await client.get(first.receipt_path)).text
    # Burning from the receipt page works for the owner, signed in (the form has its token).
    receipt = page(await client.get(first.receipt_path))
    csrf = csrf_of(receipt)
    burned = await client.post(f"{first.receipt_path}/burn", data={"csrf": csrf, "confirm": "yes"})
    assert burned.status_code == 303
    listed = page(await client.get("/account/recent"))
    assert "Burned" in listed.by_id("recent").text


async def test_recipient_gets_the_share_link(site: InProcess, smtp: SmtpServer) -> None:
    client = site.client
    csrf = await signed_up_and_in(client, smtp)
    form = page(await client.get("/"))
    field = form.field("recipient")
    assert field.get("type") == "email"
    assert form.label_for("recipient").text.strip()

    bob = "bob@example.org"
    response = await client.post("/", data={"csrf": csrf, "secret": "for bob", "recipient": bob})
    assert response.status_code == 303
    receipt = page(await client.get(response.headers["location"]))
    mailed = " ".join(receipt.by_id("mailed").text.split())
    assert "bo***@e***.org" in mailed
    assert bob not in receipt.html
    share_url = receipt.by_id("share-link").get("value") or ""

    [mail] = mails_to(smtp, bob)
    assert share_url in links_in(mail)
    assert "/receipt/" not in text_of(mail)
    listed = page(await client.get("/account/recent"))
    assert "bo***@e***.org" in listed.by_id("recent").text


async def test_recipient_mail_failure_is_explained(site: InProcess, smtp: SmtpServer) -> None:
    client = site.client
    csrf = await signed_up_and_in(client, smtp)
    smtp.inbox.refuse.add("bob@example.org")
    response = await client.post(
        "/", data={"csrf": csrf, "secret": "for bob", "recipient": "bob@example.org"}
    )
    assert response.status_code == 200
    shown = page(response)
    problem = shown.by_id("mail-problem")
    assert problem.get("role") == "alert"
    assert "secret is safe" in problem.text
    assert shown.by_id("share-link").get("value")


async def test_anonymous_creation_switched_off(
    app_factory: Callable[..., Any], smtp: SmtpServer
) -> None:
    async with app_factory(allow_anonymous=False, **smtp_settings(smtp)) as env:
        client = env.client
        shown = page(await client.get("/"))
        assert not shown.find("form", id="create-form")
        assert not shown.has_field("secret")
        assert shown.by_id("needs-account-signin").get("href") == "/signin"
        refused = await client.post("/", data={"secret": "nope"})
        assert refused.status_code == 403
        assert (await client.post("/generate", data={"length": "16"})).status_code == 403

        csrf = await signed_up_and_in(client, smtp)
        assert page(await client.get("/")).has_field("secret")
        made = await client.post("/", data={"csrf": csrf, "secret": "members only"})
        assert made.status_code == 303


# -- forms are protected ------------------------------------------------------------------------


async def test_forms_need_the_csrf_token_and_the_same_site(
    site: InProcess, smtp: SmtpServer
) -> None:
    client = site.client
    cross = await client.post(
        "/signin", data={"email": ALICE, "password": PASSWORD}, headers=CROSS_SITE
    )
    assert cross.status_code == 403
    assert "another site" in page(cross).text
    assert (
        await client.post("/signup", data={"email": ALICE}, headers=CROSS_SITE)
    ).status_code == 403

    csrf = await signed_up_and_in(client, smtp)
    for path, data in (
        ("/account/preferences", {"lang": "de"}),
        ("/account/token", {}),
        ("/account/delete", {"password": PASSWORD, "confirm": "yes"}),
        ("/signout", {}),
        ("/", {"secret": "forged"}),
    ):
        missing = await client.post(path, data=data)
        assert missing.status_code == 403, path
        forged = await client.post(path, data={**data, "csrf": "forged-token"})
        assert forged.status_code == 403, path
        foreign = await client.post(path, data={**data, "csrf": csrf}, headers=CROSS_SITE)
        assert foreign.status_code == 403, path
    account = page(await client.get("/account"))
    assert account.selected("preferences-lang") == ["en"], "nothing was changed"
    assert account.by_id("token-button").text.strip() == "Create a token"


async def test_signed_in_pages_are_safe_and_labelled(site: InProcess, smtp: SmtpServer) -> None:
    """Every form of the signed-in pages posts with the token; every control has a label."""
    client = site.client
    csrf = await signed_up_and_in(client, smtp)
    shared = await create(client, "listed", csrf=csrf)
    answers = {
        "account": await client.get("/account"),
        "token": await client.post("/account/token", data={"csrf": csrf}),
        "recent": await client.get("/account/recent"),
        "index": await client.get("/"),
        "receipt": await client.get(shared.receipt_path),
        "signin": await client.get("/signin"),
        "signup": await client.get("/signup"),
        "forgot": await client.get("/forgot"),
    }
    for name, response in answers.items():
        assert response.status_code == 200, name
        assert response.headers["cache-control"] == "no-store", name
        shown = page(response)
        for form in shown.all("form"):
            if form.get("method") != "post":
                continue
            tokens = [
                i.get("value") for i in shown.inside(form, "input") if i.get("name") == "csrf"
            ]
            assert tokens == [csrf], (name, form.get("action"))
        for element in shown.elements:
            assert "style" not in element.attrs, name
            assert not [a for a in element.attrs if a.startswith("on")], name
        for control in shown.all("input") + shown.all("select") + shown.all("textarea"):
            if control.get("type") == "hidden":
                continue
            control_id = control.get("id") or ""
            assert control_id, (name, control.attrs)
            assert shown.label_for(control_id).text.strip(), (name, control_id)
        for script in shown.all("script"):
            assert script.get("src") == "/static/app.js"
            assert not script.text.strip()
        for link in shown.all("a"):
            url = link.get("href") or ""
            if url.startswith("/") and url != "/account/export":
                assert (await client.get(url)).status_code == 200, (name, url)


async def test_email_change_mail_that_fails_changes_nothing(
    site: InProcess, smtp: SmtpServer
) -> None:
    client = site.client
    csrf = await signed_up_and_in(client, smtp)
    smtp.inbox.refuse.add("alice.new@example.com")
    response = await client.post(
        "/account/email",
        data={"csrf": csrf, "email": "alice.new@example.com", "password": PASSWORD},
    )
    assert response.status_code == 503
    shown = page(response)
    assert "could not send" in problem_text(shown, "email-error")
    assert shown.by_id("new-email").get("value") == "alice.new@example.com"
    assert shown.by_id("account-email").text.strip() == ALICE


async def test_sign_ups_and_reset_requests_are_limited_per_client(
    app_factory: Callable[..., Any], smtp: SmtpServer
) -> None:
    async with app_factory(**smtp_settings(smtp), signup_limit=2, reset_limit=2) as env:
        for n in range(2):
            assert (await sign_up(env.client, f"new-{n}@example.com")).status_code == 200
        refused = await sign_up(env.client, "new-2@example.com")
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert "Too many sign-ups" in problem_text(page(refused))
        # Nothing was made for the refused one, and nothing lost for the others.
        accounts = env.app.state.context.accounts
        assert await accounts.find("new-2@example.com") is None
        assert await accounts.find("new-1@example.com") is not None

        for _ in range(2):
            answer = await env.client.post("/forgot", data={"email": "new-0@example.com"})
            assert answer.status_code == 200
        refused = await env.client.post("/forgot", data={"email": "new-0@example.com"})
        assert refused.status_code == 429
        assert "Too many reset requests" in refused.text
