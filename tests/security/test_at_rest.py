"""After every flow, nothing secret is at rest or in the log: on SQLite and on Redis.

A real `onetime serve` (debug logging, real SMTP) is driven through every flow of the product,
as a browser and as an API client behind a proxy it trusts: each request carries the
X-Forwarded-For of a distinctive client address (203.0.113.77, or an IPv6 one), so the address
the application sees is one no file or log line could hold by chance. Every sensitive string the
flows handle is collected: contents, generated passwords, secret and receipt keys, passphrases
(right and wrong), passwords, API tokens, session cookie values, CSRF tokens, the tokens of the
links in mails, the private memo, the recipient's address and the client addresses. Then every
byte of every file in the data and counters directories, every key and value under the test's
Redis prefix, and every line of the server log are searched for each of them, also upper-cased,
lower-cased and (for keys and tokens) as the raw bytes and hex they encode.

tests/system/test_privacy_at_rest_and_in_logs.py and test_redis_privacy_and_startup.py run the
anonymous flows without a proxy; tests/system/test_account_stores.py scans the store after
account flows driven in-process. This file drives all of them through one live server per
backend, with a proxy, and adds the account, mail, memo, guest and form flows.
"""

from __future__ import annotations

import asyncio
import base64
import email
import ipaddress
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from onetime.core.crypto import Keyring
from onetime.core.identifiers import KeyCodec, KeyKind, decode_base36
from onetime.mail.delivery import ConsoleMailer, Mailer, SmtpMailer
from onetime.mail.message import compose
from onetime.mail.url import parse_mail_url
from tests.conftest import TEST_SECRET, LiveServer, start_server, stop_server
from tests.services import delete_prefixed, everything_under, require_redis, unique_prefix
from tests.smtp import SmtpServer, links_in
from tests.system.flows import run_all_flows
from tests.web.pagekit import Page

pytestmark = pytest.mark.slow

CLIENT_V4 = "203.0.113.77"
CLIENT_V6 = "2001:db8:7a3:4c1:9e2f:11aa:52bd:e07"
ALICE = "alice.at-rest@example.com"
ALICE_NEW = "alice.moved@example.net"
FRIEND = "friend.of.alice@example.org"
PASSWORDS = (
    "first password of alice",
    "second password of alice",
    "password after the reset",
)
WRONG_PASSWORD = "a wrong password guess"
MEMO = "memo: the staging database"


@dataclass
class Sensitive:
    """What the flows handled that must be found nowhere: label -> the forms it could take."""

    everywhere: dict[str, set[bytes]] = field(default_factory=dict)
    # Stored on purpose (mail is sent to an account's address) but never written to the log.
    log_only: dict[str, set[bytes]] = field(default_factory=dict)

    def text(self, label: str, value: str, log_only: bool = False) -> None:
        assert value, label
        raw = value.encode()
        forms = {raw, raw.upper(), raw.lower()}
        (self.log_only if log_only else self.everywhere).setdefault(label, set()).update(forms)

    def key(self, label: str, key: str) -> None:
        """A link key: its text, and the 32 random bytes it carries (raw and in hex)."""
        self.text(label, key)
        decoded = decode_base36(key, 40)
        assert decoded is not None, label
        raw = decoded[:32]
        self.everywhere[label] |= {raw, raw.hex().encode(), raw.hex().upper().encode()}

    def token(self, label: str, token: str) -> None:
        """A random token (base64url or hex): its text, and the bytes it encodes."""
        self.text(label, token)
        if re.fullmatch(r"[0-9a-f]{40}", token):
            raw = bytes.fromhex(token)
        else:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert len(raw) >= 16, label
        self.everywhere[label] |= {raw, raw.hex().encode(), raw.hex().upper().encode()}

    def address(self, label: str, address: str) -> None:
        """A client address, and the form rate limits count it by (an IPv6 /64)."""
        self.text(label, address)
        ip = ipaddress.ip_address(address)
        forms = {str(ip), ip.exploded}
        if ip.version == 6:
            network = ipaddress.IPv6Network((ip, 64), strict=False)
            forms |= {str(network), str(network.network_address).rstrip(":"), ip.packed.hex()}
            self.everywhere[label] |= {ip.packed, network.network_address.packed[:8]}
        for form in forms:
            self.everywhere[label] |= {form.encode(), form.upper().encode()}


def found_in(blob: bytes, needles: dict[str, set[bytes]]) -> list[str]:
    return sorted(label for label, forms in needles.items() if any(f in blob for f in forms))


def files_under(*roots: Path) -> dict[str, bytes]:
    return {
        str(path): path.read_bytes()
        for root in roots
        if root.exists()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


# -- driving the flows ------------------------------------------------------------------------


class Visitor:
    """A browser or script behind the trusted proxy, noting every sensitive string it handles."""

    def __init__(self, server: LiveServer, smtp: SmtpServer, sensitive: Sensitive) -> None:
        self.http = httpx.Client(
            base_url=server.url, timeout=15, headers={"X-Forwarded-For": CLIENT_V4}
        )
        self.smtp = smtp
        self.seen = sensitive
        self.n = 0
        self.unread_key = ""  # a secret left unread, to show the scans do see the store
        self.csrf_after_reset = ""

    def close(self) -> None:
        self.http.close()

    def label(self, what: str) -> str:
        self.n += 1
        return f"{what} #{self.n}"

    # -- pages ----------------------------------------------------------------------------

    def page(self, response: httpx.Response, status: int = 200) -> Page:
        assert response.status_code == status, (response.status_code, response.text[:500])
        return Page(response.text)

    def csrf(self) -> str:
        shown = self.page(self.http.get("/account"))
        [token] = {field.get("value") or "" for field in shown.find("input", name="csrf")}
        self.seen.token(self.label("CSRF token"), token)
        return token

    def remember_session(self) -> None:
        cookie = self.http.cookies.get("session")
        assert cookie, "no session cookie"
        self.seen.token(self.label("session cookie"), cookie)

    def mail_link(self, to: str, prefix: str) -> str:
        """The path of the link starting with `prefix` in the newest mail to `to`."""
        mails = [e for e in self.smtp.inbox.envelopes if to in e.rcpt_tos]
        assert mails, f"no mail to {to}"
        message = email.message_from_bytes(bytes(mails[-1].content or b""))
        paths = [urlsplit(link).path for link in links_in(message)]
        [path] = [p for p in paths if p.startswith(prefix)]
        if prefix.startswith("/account/"):
            self.seen.token(self.label(f"link token {prefix}"), path.rsplit("/", 1)[1])
        return path

    # -- anonymous flows ------------------------------------------------------------------

    def api_flows(self) -> None:
        http, seen = self.http, self.seen
        # v1 generate, its receipt, burn
        made = http.post("/api/v1/generate", data={"ttl": "3600", "passphrase": "v1-gen-phrase"})
        assert made.status_code == 200, made.text
        body = made.json()
        seen.text(self.label("generated password"), body["value"])
        seen.text(self.label("passphrase"), "v1-gen-phrase")
        seen.key(self.label("secret key"), body["secret_key"])
        seen.key(self.label("receipt key"), body["metadata_key"])
        assert http.get(f"/api/v1/receipt/{body['metadata_key']}").status_code == 200
        burned = http.post(
            f"/api/v1/receipt/{body['metadata_key']}/burn", data={"passphrase": "v1-gen-phrase"}
        )
        assert burned.status_code == 200, burned.text

        # v2 conceal with a passphrase: preview, status, receipt, wrong then right reveal
        content, phrase = "v2 content behind a phrase", "v2-right-phrase"
        record = self.conceal(content, passphrase=phrase)
        secret, receipt = record["secret"]["key"], record["receipt"]["key"]
        assert http.get(f"/api/v2/secret/{secret}").status_code == 200
        assert http.get(f"/api/v2/secret/{secret}/status").status_code == 200
        assert http.post("/api/v2/secret/status", json={"identifiers": secret}).status_code == 200
        assert http.get(f"/api/v2/receipt/{receipt}").status_code == 200
        seen.text(self.label("wrong passphrase"), "v2-wrong-phrase")
        wrong = http.post(f"/api/v2/secret/{secret}/reveal", json={"passphrase": "v2-wrong-phrase"})
        assert wrong.status_code == 422
        right = http.post(f"/api/v2/secret/{secret}/reveal", json={"passphrase": phrase})
        assert right.json()["record"]["secret_value"] == content

        # v2 generate, burned from its receipt with its passphrase
        made = http.post(
            "/api/v2/secret/generate",
            json={"secret": {"length": 30, "passphrase": "v2-gen-phrase"}},
        )
        record = made.json()["record"]
        seen.text(self.label("generated password"), record["secret"]["secret_value"])
        seen.text(self.label("passphrase"), "v2-gen-phrase")
        seen.key(self.label("secret key"), record["secret"]["key"])
        seen.key(self.label("receipt key"), record["receipt"]["key"])
        burned = http.post(
            f"/api/v2/receipt/{record['receipt']['key']}/burn",
            json={"continue": True, "passphrase": "v2-gen-phrase"},
        )
        assert burned.status_code == 200, burned.text

        # the guest routes
        record = self.conceal("guest content, left unread", prefix="/api/v2/guest")
        self.unread_key = record["secret"]["key"]
        assert http.get(f"/api/v2/guest/receipt/{record['receipt']['key']}").status_code == 200

    def conceal(
        self,
        content: str,
        prefix: str = "/api/v2",
        auth: tuple[str, str] | None = None,
        **fields: str,
    ) -> dict[str, Any]:
        answer = self.http.post(
            f"{prefix}/secret/conceal",
            json={"secret": {"secret": content, "ttl": 3600, **fields}},
            auth=auth,
        )
        assert answer.status_code == 200, answer.text
        record: dict[str, Any] = answer.json()["record"]
        self.seen.text(self.label("content"), content)
        if fields.get("passphrase"):
            self.seen.text(self.label("passphrase"), fields["passphrase"])
        self.seen.key(self.label("secret key"), record["secret"]["key"])
        self.seen.key(self.label("receipt key"), record["receipt"]["key"])
        return record

    def form_flows(self, csrf: str = "") -> None:
        """Create, reveal (wrong then right passphrase), generate and burn through the pages."""
        http, seen = self.http, self.seen
        token = {"csrf": csrf} if csrf else {}
        content, phrase = f"form content {self.n}", f"form-phrase-{self.n}"
        seen.text(self.label("content"), content)
        seen.text(self.label("passphrase"), phrase)
        made = http.post("/", data={"secret": content, "passphrase": phrase, **token})
        assert made.status_code == 303, made.text
        receipt_path = made.headers["location"].split("?")[0]
        seen.key(self.label("receipt key"), receipt_path.rsplit("/", 1)[1])
        shown = self.page(http.get(made.headers["location"]))
        secret_path = urlsplit(shown.by_id("share-link").get("value") or "").path
        seen.key(self.label("secret key"), secret_path.rsplit("/", 1)[1])
        self.page(http.get(secret_path))
        wrong = f"form-wrong-{self.n}"
        seen.text(self.label("wrong passphrase"), wrong)
        self.page(http.post(secret_path, data={"passphrase": wrong, **token}), 422)
        revealed = self.page(http.post(secret_path, data={"passphrase": phrase, **token}))
        assert content in revealed.text_of(revealed.by_id("secret-value"))

        generated = self.page(http.post("/generate", data={"length": "24", **token}))
        seen.text(self.label("generated password"), generated.by_id("generated-password").text)
        receipt_link = urlsplit(generated.by_id("receipt-link").get("value") or "").path
        seen.key(self.label("receipt key"), receipt_link.rsplit("/", 1)[1])
        share = urlsplit(generated.by_id("share-link").get("value") or "").path
        seen.key(self.label("secret key"), share.rsplit("/", 1)[1])
        burned = http.post(f"{receipt_link}/burn", data={"confirm": "yes", **token})
        assert burned.status_code == 303, burned.text

    def proxy_is_believed(self) -> None:
        """The per-client passphrase limit counts the forwarded address, not the proxy's."""
        record = self.conceal("counted per client", passphrase="counted-phrase")
        path = f"/api/v2/secret/{record['secret']['key']}/reveal"
        self.seen.text(self.label("wrong passphrase"), "counted-wrong")
        for _ in range(5):
            assert self.http.post(path, json={"passphrase": "counted-wrong"}).status_code == 422
        locked = self.http.post(path, json={"passphrase": "counted-wrong"})
        assert locked.status_code == 429, "five wrong tries lock this client out"
        other = self.http.post(
            path, json={"passphrase": "counted-wrong"}, headers={"X-Forwarded-For": CLIENT_V6}
        )
        assert other.status_code == 422, "another forwarded address is another client"

    # -- accounts -------------------------------------------------------------------------

    def account_flows(self) -> None:
        http, seen = self.http, self.seen
        for index, password in enumerate(PASSWORDS):
            seen.text(f"password {index}", password)
        seen.text("wrong password", WRONG_PASSWORD)
        seen.text("memo", MEMO)
        seen.text("recipient address", FRIEND)
        seen.text("account address", ALICE, log_only=True)
        seen.text("new account address", ALICE_NEW, log_only=True)

        # Sign up, confirm through the mail, sign in (once wrongly).
        self.page(http.post("/signup", data={"email": ALICE, "password": PASSWORDS[0]}))
        verify = self.mail_link(ALICE, "/account/verify/")
        self.page(http.get(verify))
        assert http.post(verify).status_code == 303
        refused = http.post("/signin", data={"email": ALICE, "password": WRONG_PASSWORD})
        assert refused.status_code == 401
        signed = http.post("/signin", data={"email": ALICE, "password": PASSWORDS[0]})
        assert signed.status_code == 303, signed.text
        self.remember_session()
        csrf = self.csrf()

        # Preferences (notify on read), an API token, and using it.
        saved = http.post("/account/preferences", data={"csrf": csrf, "lang": "en", "notify": "1"})
        assert saved.status_code == 303
        api_token = self.new_token(csrf)
        auth = (ALICE, api_token)
        record = self.conceal("owned content, mailed", auth=auth, recipient=FRIEND)
        receipt = record["receipt"]["key"]
        share = self.mail_link(FRIEND, "/secret/")  # the recipient's mail carries the link
        memo = http.patch(f"/api/v2/receipt/{receipt}", json={"memo": MEMO}, auth=auth)
        assert memo.status_code == 200, memo.text
        assert http.get(f"/api/v2/receipt/{receipt}", auth=auth).json()["record"]["memo"] == MEMO
        assert http.get("/api/v2/receipt/recent", auth=auth).json()["count"] == 1
        assert http.get("/api/v1/receipt/recent", auth=auth).status_code == 200
        assert http.get("/api/v1/authcheck", auth=auth).status_code == 200
        read = http.post(f"/api/v2{share}/reveal", json={})
        assert read.status_code == 200, read.text  # and alice is told by mail

        # The forms, signed in: create (with a recipient), reveal, generate, burn; the lists.
        self.form_flows(csrf)
        made = http.post("/", data={"csrf": csrf, "secret": "form, mailed", "recipient": FRIEND})
        assert made.status_code == 303, made.text
        seen.text(self.label("content"), "form, mailed")
        seen.key(self.label("receipt key"), made.headers["location"].split("?")[0].rsplit("/")[-1])
        self.mail_link(FRIEND, "/secret/")
        self.page(http.get("/account/recent"))
        assert http.get("/account/export").status_code == 200

        # A new address, confirmed from its mailbox; a new password.
        moved = http.post(
            "/account/email", data={"csrf": csrf, "email": ALICE_NEW, "password": PASSWORDS[0]}
        )
        assert moved.status_code == 303, moved.text
        confirm = self.mail_link(ALICE_NEW, "/account/email/")
        self.page(http.get(confirm))
        assert http.post(confirm, data={"csrf": csrf}).status_code == 303
        changed = http.post(
            "/account/password",
            data={"csrf": csrf, "current_password": PASSWORDS[0], "new_password": PASSWORDS[1]},
        )
        assert changed.status_code == 303, changed.text
        assert http.post("/signout", data={"csrf": csrf}).status_code == 303

        # A forgotten password: the link from the mail, a new password, signing in again.
        self.page(http.post("/forgot", data={"email": ALICE_NEW}))
        reset = self.mail_link(ALICE_NEW, "/account/reset/")
        self.page(http.get(reset))
        assert http.post(reset, data={"password": PASSWORDS[2]}).status_code == 303
        signed = http.post("/signin", data={"email": ALICE_NEW, "password": PASSWORDS[2]})
        assert signed.status_code == 303, signed.text
        self.remember_session()
        self.csrf_after_reset = self.csrf()
        api_token = self.new_token(self.csrf_after_reset)
        self.conceal("owned after the reset", auth=(ALICE_NEW, api_token))
        self.page(http.get("/account/recent"))

    def new_token(self, csrf: str) -> str:
        shown = self.page(self.http.post("/account/token", data={"csrf": csrf}))
        token = shown.by_id("api-token").get("value") or ""
        self.seen.token(self.label("API token"), token)
        return token

    def delete_account(self) -> None:
        deleted = self.http.post(
            "/account/delete",
            data={"csrf": self.csrf_after_reset, "password": PASSWORDS[2], "confirm": "yes"},
        )
        assert deleted.status_code == 303, deleted.text


# -- the servers ------------------------------------------------------------------------------


@dataclass
class Backend:
    server: LiveServer
    counters: Path
    redis: tuple[str, str] | None  # (url, prefix)

    def stored(self) -> dict[str, bytes]:
        """Every byte at rest: the data and counters directories, and the Redis keys."""
        blobs = files_under(self.server.data_dir, self.counters)
        if self.redis is not None:
            url, prefix = self.redis
            raw = asyncio.run(everything_under(url, prefix))
            assert len(raw) > 20, "the scan sees the keys"
            for index, blob in enumerate(raw):
                blobs[f"redis item {index}"] = blob
        return blobs


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, smtp: SmtpServer) -> Iterator[Backend]:
    env = {
        "ONETIME_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
        "ONETIME_TRUSTED_PROXIES": "127.0.0.1",  # start_server logs at debug level
    }
    redis = None
    if request.param == "redis":
        redis = (require_redis(), unique_prefix())
        env["ONETIME_STORE_URL"] = f"{redis[0]}?prefix={redis[1]}"
    data = tmp_path / "data"
    server = start_server(data, tmp_path / "server.log", extra_env=env)
    try:
        yield Backend(server, data.parent / "counters", redis)
    finally:
        stop_server(server)
        if redis is not None:
            asyncio.run(delete_prefixed(*redis))


def test_no_secret_at_rest_or_in_the_log_after_every_flow(
    backend: Backend, smtp: SmtpServer
) -> None:
    server = backend.server
    seen = Sensitive()
    seen.address("client address", CLIENT_V4)
    seen.address("IPv6 client address", CLIENT_V6)
    proxy = {"X-Forwarded-For": CLIENT_V4}
    traces = run_all_flows(server.url, "at-rest", headers=proxy)
    for index, needle in enumerate(traces.contents + traces.passphrases):
        seen.text(f"flows secret {index}", needle)
    for index, key in enumerate(traces.keys):
        seen.key(f"flows key {index}", key)
    seen.text("flows wrong passphrase", "wrong-guess-1")

    visitor = Visitor(server, smtp, seen)
    try:
        visitor.proxy_is_believed()
        visitor.api_flows()
        visitor.form_flows()
        visitor.account_flows()
        before_deletion = backend.stored()
        visitor.delete_account()
    finally:
        visitor.close()
    after_deletion = backend.stored()
    stop_server(server)  # the log is complete once the server has stopped

    # The scans see the records: an unread secret is stored under the hash of its key (whose
    # first bytes are the time the key was made, unmasked with the server's check key).
    key = KeyCodec([keys.check for keys in Keyring(TEST_SECRET.encode()).all]).parse(
        KeyKind.SECRET, visitor.unread_key
    )
    assert key is not None
    sid = key.storage_id
    everything = b"\x00".join(before_deletion.values())
    assert sid in everything or sid.hex().encode() in everything
    assert len(smtp.inbox.envelopes) >= 7  # verify, recipient x2, read, email change, reset

    for moment, stored in (("before deletion", before_deletion), ("at the end", after_deletion)):
        leaks = {
            where: found_in(blob, seen.everywhere)
            for where, blob in stored.items()
            if found_in(blob, seen.everywhere)
        }
        assert leaks == {}, f"{moment}: {leaks}"
        for where, blob in stored.items():  # the proxy's own address is not kept either
            assert b"127.0.0.1" not in blob, where

    logs = server.logs()
    assert "POST /api/v2/secret/{key}/reveal 422" in logs  # the access log recorded the flows
    assert "mail to " in logs
    leaking = [
        (number, found_in(line.encode(), seen.everywhere | seen.log_only))
        for number, line in enumerate(logs.splitlines(), 1)
        if found_in(line.encode(), seen.everywhere | seen.log_only)
    ]
    assert leaking == []
    # The only address in the log is the one the server listens on, said at start-up.
    addressed = [line for line in logs.splitlines() if "127.0.0.1" in line]
    assert all("serving on" in line or "running on" in line for line in addressed), addressed


@pytest.mark.parametrize("kind", ["smtp", "console"])
async def test_a_mail_subject_naming_its_sender_is_logged_masked(
    kind: str, smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression: "alice@example.com sent you a secret" went to the log at INFO as it was."""
    site = "http://127.0.0.1:7143"
    message = compose(
        "secret_link",
        "en",
        FRIEND,
        site_name="onetime",
        site_url=site,
        link=f"{site}/secret/abc123",
        expires_in=3600,
        sender=ALICE,
    )
    assert ALICE in message.subject  # the subject does name the sender
    sender = "onetime <noreply@localhost>"
    mailer: Mailer = (
        SmtpMailer(parse_mail_url(f"smtp://127.0.0.1:{smtp.port}"), sender, 5)
        if kind == "smtp"
        else ConsoleMailer(sender)
    )
    with caplog.at_level(logging.INFO, logger="onetime.mail"):
        await mailer.send(message)
    assert "al***@e***.com sent you a secret" in caplog.text
    assert ALICE not in caplog.text
    assert FRIEND not in caplog.text
