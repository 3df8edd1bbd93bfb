"""The web security promises of DESIGN.md §5, checked on every route the application declares.

The routes are read from the app itself, so a route added later is swept too (or the sweep
fails, naming the route it does not know how to call). Every route is called with real keys and
tokens made for the call, anonymously and with a session (a cookie for pages, HTTP Basic for the
API), over plain HTTP and with ONETIME_SSL; error answers (404, 405, 413, 415, 400, 401, 403,
422, 429, 500) and the static files are swept as well. On every answer:

- Content-Security-Policy: default-src 'none', script-src 'self' only, no 'unsafe-inline' or
  'unsafe-eval', frame-ancestors 'none'; X-Frame-Options DENY; Referrer-Policy no-referrer;
  X-Content-Type-Options nosniff.
- Strict-Transport-Security exactly when the service says it is served over TLS (ONETIME_SSL):
  there it is on every answer, with at least a year; over plain HTTP it is never sent.
- Cache-Control: no-store on everything but our own static assets (and the branding stylesheet
  and logo), so no answer that shows a secret, a key, a token or a link is ever cached.
- Every cookie is HttpOnly, SameSite=Lax, Path=/, has no Domain, and is Secure (and the session
  cookie named __Host-session) under ONETIME_SSL. Anonymous visitors get no cookie unless they
  pick a preference or sign in.
- Every reference on every HTML page, and every url() in our stylesheets, stays on this server.

Then: every state-changing form is refused from another site and without the session's CSRF
token, with a readable 403 page and nothing changed; and CORS is off unless configured.
The session cookie's value is stored only as a hash: tests/system/test_account_stores.py scans
for it, and tests/security/test_at_rest.py scans for it (and the CSRF token) after every flow.
"""

from __future__ import annotations

import email
import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio
from starlette.routing import Mount, Route

from onetime.app import STATIC_DIR, create_app
from onetime.core.clock import ManualClock
from onetime.settings import SettingsError, load_settings
from tests.accounts import PASSWORD, TestAccount, account_service, make_account
from tests.conftest import TEST_SECRET, InProcess
from tests.smtp import SmtpServer, links_in, smtp_fixture
from tests.web.pagekit import Page, is_same_origin

# The sweep is made once per module (per scheme), so every test here shares that event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

HOST = "testserver"
HSTS = "max-age=63072000; includeSubDomains"
# Answers that may be cached: our own assets, the same for everyone, holding nothing secret.
CACHEABLE = ("/static/", "/brand.css", "/brand/logo")
# Answers that may set a cookie for someone who is not signed in: a choice, or signing in.
ANONYMOUS_COOKIES = {("POST", "/preferences"), ("POST", "/signin")}
KEY = re.compile(r"(?<![0-9a-z])[0-9a-z]{62}(?![0-9a-z])")  # a secret or receipt key
BOOM = "/__test_failure"  # a route this file adds to one app, to see the 500 path


# -- the routes, read from the app ----------------------------------------------------------


def declared_routes(app: Any) -> set[tuple[str, str]]:
    """Every (method, path template) the app answers, through included routers and mounts."""
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:  # FastAPI's included routers
            for context in contexts():
                found |= {(method, context.path_format) for method in context.methods}
        elif isinstance(route, Mount):
            found |= {("GET", route.path + "/{path}"), ("HEAD", route.path + "/{path}")}
        elif isinstance(route, Route):
            found |= {(method, route.path_format) for method in route.methods or ()}
        else:
            pytest.fail(f"a route of a kind this sweep does not know: {route!r}")
    return found


def static_files() -> list[str]:
    return sorted(p.name for p in STATIC_DIR.iterdir() if p.is_file())


# -- a site with everything a route may need --------------------------------------------------


@dataclass
class Answer:
    label: str
    method: str
    template: str
    response: httpx.Response
    signed: bool = False


@dataclass
class Site:
    """An app with a real SMTP server, a signed-up member, and makers of fresh keys and tokens."""

    env: InProcess
    smtp: SmtpServer
    client: httpx.AsyncClient
    ssl: bool
    member: TestAccount  # alice: the signed-in caller
    other: TestAccount  # bob: whose reset links are used
    changer: TestAccount  # carol: whose email-change links are used
    secrets: list[str] = field(default_factory=list)  # every key, token and content handed out
    n: int = 0

    @property
    def cookie_name(self) -> str:
        return "__Host-session" if self.ssl else "session"

    @property
    def accounts(self) -> Any:
        return account_service(self.env.app)

    def next(self) -> int:
        self.n += 1
        return self.n

    async def request(
        self,
        method: str,
        path: str,
        cookie: str | None = None,
        headers: dict[str, str] | None = None,
        **options: Any,
    ) -> httpx.Response:
        """One request with exactly the cookie given: nothing is kept between requests."""
        sent = dict(headers or {})
        if cookie is not None:
            sent["cookie"] = f"{self.cookie_name}={cookie}"
        try:
            return await self.client.request(method, path, headers=sent, **options)
        finally:
            self.client.cookies.clear()

    async def secret(self, passphrase: str | None = None) -> tuple[str, str]:
        """A fresh secret: (secret key, receipt key)."""
        fields: dict[str, Any] = {"secret": f"swept secret {self.next()}", "ttl": 3600}
        if passphrase:
            fields["passphrase"] = passphrase
        answer = await self.request("POST", "/api/v2/secret/conceal", json={"secret": fields})
        assert answer.status_code == 200, answer.text
        record = answer.json()["record"]
        keys = record["secret"]["key"], record["receipt"]["key"]
        self.secrets += [fields["secret"], *keys]
        return keys

    async def session(self, account: TestAccount | None = None) -> tuple[str, str]:
        """A fresh session of `account` (alice): (cookie value, the CSRF token its pages carry)."""
        account = account or self.member
        signed = await self.accounts.sign_in(account.email, account.password, client="setup")
        shown = await self.request("GET", "/account", cookie=signed.token)
        assert shown.status_code == 200, shown.text
        [csrf] = {e.get("value") or "" for e in Page(shown.text).find("input", name="csrf")}
        self.secrets += [signed.token, csrf]
        return signed.token, csrf

    def mail_link(self, to: str, prefix: str) -> str:
        envelopes = [e for e in self.smtp.inbox.envelopes if to in e.rcpt_tos]
        assert envelopes, f"no mail to {to}"
        message = email.message_from_bytes(bytes(envelopes[-1].content or b""))
        [path] = [
            urlsplit(u).path for u in links_in(message) if urlsplit(u).path.startswith(prefix)
        ]
        self.secrets.append(path.rsplit("/", 1)[1])
        return path

    async def verify_path(self) -> str:
        address = f"pending-{self.next()}@example.com"
        made = await self.request("POST", "/signup", data={"email": address, "password": PASSWORD})
        assert made.status_code == 200, made.text
        return self.mail_link(address, "/account/verify/")

    async def reset_path(self) -> str:
        asked = await self.request("POST", "/forgot", data={"email": self.other.email})
        assert asked.status_code == 200, asked.text
        return self.mail_link(self.other.email, "/account/reset/")

    async def email_change_path(self) -> str:
        current = await self.accounts.get(self.changer.account.id)  # its address changes
        signed = await self.accounts.sign_in(current.email, self.changer.password, client="setup")
        address = f"carol-{self.next()}@example.net"
        assert await self.accounts.request_email_change(signed, PASSWORD, address) is None
        return self.mail_link(address, "/account/email/")

    async def fill(self, template: str) -> str:
        """The template with real, fresh values for its parameters."""
        path = template
        if "{key}" in path:
            secret_key, receipt_key = await self.secret()
            path = path.replace("{key}", secret_key if "/secret/" in path else receipt_key)
        if "{token}" in path:
            makers = {
                "/account/verify/": self.verify_path,
                "/account/reset/": self.reset_path,
                "/account/email/": self.email_change_path,
            }
            [maker] = [make for prefix, make in makers.items() if path.startswith(prefix)]
            path = await maker()
        leftover = re.findall(r"\{[^}]+\}", path)
        assert not leftover, f"the sweep cannot fill {leftover} in {template}: teach Site.fill"
        return path


def body_for(method: str, template: str, n: int) -> dict[str, Any]:
    """A request body that the route accepts (so success answers are swept, not only errors)."""
    if method in ("GET", "HEAD"):
        return {}
    if template.startswith("/api/v1/"):
        if template.endswith(("/share", "/create")):
            return {"data": {"secret": f"swept v1 content {n}", "ttl": "3600"}}
        return {"data": {"ttl": "3600"} if template.endswith("/generate") else {}}
    if template.startswith("/api/"):
        if method == "PATCH":
            return {"json": {"memo": "swept memo"}}
        bodies: dict[str, dict[str, Any]] = {
            "/conceal": {"secret": {"secret": f"swept v2 content {n}", "ttl": 3600}},
            "/generate": {"secret": {"length": 16}},
            "/status": {"identifiers": "unknownkey"},
            "/reveal": {},
            "/burn": {"continue": True},
        }
        [body] = [b for suffix, b in bodies.items() if template.endswith(suffix)]
        return {"json": body}
    forms: dict[str, dict[str, str]] = {
        "/": {"secret": f"swept form content {n}", "ttl": "3600"},
        "/generate": {"length": "16"},
        "/secret/{key}": {},
        "/receipt/{key}/burn": {"confirm": "yes"},
        "/private/{key}/burn": {"confirm": "yes"},
        "/preferences": {"theme": "dark", "next": "/"},
        "/signup": {"email": f"swept-{n}@example.com", "password": PASSWORD},
        "/signin": {"email": "alice@example.com", "password": PASSWORD},
        "/signout": {},
        "/forgot": {"email": "bob@example.com"},
        "/account/verify/{token}": {},
        "/account/reset/{token}": {"password": f"bob's password number {n}"},
        "/account/email/{token}": {},
        "/account/preferences": {"lang": "en", "notify": "1"},
        "/account/password": {"current_password": "not the password", "new_password": "x" * 12},
        "/account/email": {"email": f"alice-{n}@example.net", "password": PASSWORD},
        "/account/token": {},
        "/account/delete": {"password": PASSWORD},  # unticked: the account page with a 422
    }
    assert template in forms, f"no form body for POST {template}: teach body_for"
    return {"data": forms[template]}


def api_first(route: tuple[str, str]) -> tuple[bool, str, str]:
    # A new API token (POST /account/token) ends the old one: the API is swept before it.
    method, template = route
    return (not template.startswith("/api/"), template, method)


async def sweep_routes(site: Site, routes: set[tuple[str, str]], signed: bool) -> list[Answer]:
    answers: list[Answer] = []
    member = site.member
    for method, template in sorted(routes, key=api_first):
        if template == "/static/{path}":
            for name in static_files():
                response = await site.request(method, f"/static/{name}")
                answers.append(Answer(f"static {name}", method, template, response, signed))
            continue
        n = site.next()
        path = await site.fill(template)
        options = body_for(method, template, n)
        cookie = None
        if template.startswith("/api/"):
            if signed:
                options["auth"] = (member.account.id, member.token)
        elif signed:
            cookie, csrf = await site.session()
            if method == "POST":
                options["data"] = {**options["data"], "csrf": csrf}
        response = await site.request(method, path, cookie=cookie, **options)
        answers.append(Answer(f"{method} {template}", method, template, response, signed))
        if template == "/account/token" and signed:
            shown = Page(response.text)
            site.secrets.append(shown.by_id("api-token").get("value") or "")
        elif template.endswith(("/conceal", "/generate", "/share", "/create")):
            site.secrets += KEY.findall(response.text)
    return answers


async def sweep_errors(site: Site) -> list[Answer]:
    """The error answers of both surfaces, and the 500 path of a route that fails."""
    limit = site.env.settings.max_request_bytes
    secret_key, _ = await site.secret(passphrase="the right phrase")
    web_secret, _ = await site.secret(passphrase="the right phrase")
    requests: list[tuple[str, str, str, dict[str, Any]]] = [
        ("404 page", "GET", "/no/such/page", {}),
        ("404 gone", "GET", "/secret/" + "0" * 62, {}),
        ("404 gone POST", "POST", "/secret/" + "0" * 62, {"data": {}}),
        ("404 receipt", "GET", "/receipt/unknown", {}),
        ("404 api", "GET", "/api/v2/no/such/thing", {}),
        ("404 v2 reveal", "POST", "/api/v2/secret/unknown/reveal", {"json": {}}),
        ("404 v1 legacy", "POST", "/api/v1/secret/unknown", {"data": {}}),
        ("404 static", "GET", "/static/no-such-file.css", {}),
        ("404 logo", "GET", "/brand/logo", {}),
        ("405 page", "PUT", "/", {}),
        ("405 api", "DELETE", "/api/v2/secret/conceal", {}),
        ("405 options", "OPTIONS", "/api/v2/secret/conceal", {}),
        ("413 page", "POST", "/", {"data": {"secret": "x" * (limit + 1)}}),
        ("413 api", "POST", "/api/v2/secret/conceal", {"content": b"{" + b" " * limit + b"}"}),
        ("413 v1", "POST", "/api/v1/share", {"data": {"secret": "x" * (limit + 1)}}),
        (
            "415 api",
            "POST",
            "/api/v2/secret/conceal",
            {"content": b"secret=x", "headers": {"content-type": "text/plain"}},
        ),
        (
            "400 api",
            "POST",
            "/api/v2/secret/conceal",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
        ),
        ("401 api", "GET", "/api/v2/receipt/recent", {"auth": ("nobody@example.com", "wrong")}),
        (
            "403 page",
            "POST",
            "/",
            {"data": {"secret": "x"}, "headers": {"origin": "https://x.example"}},
        ),
        ("422 page", "POST", "/", {"data": {"secret": ""}}),
        ("422 api", "POST", "/api/v2/secret/conceal", {"json": {"secret": {"secret": ""}}}),
        ("500 page", "GET", BOOM, {}),
        ("500 api", "GET", "/api" + BOOM, {}),
    ]
    for tries in range(6):
        requests.append(
            (
                f"{'429' if tries == 5 else '422'} api passphrase",
                "POST",
                f"/api/v2/secret/{secret_key}/reveal",
                {"json": {"passphrase": "not the phrase"}},
            )
        )
        requests.append(
            (
                f"{'429' if tries == 5 else '422'} page passphrase",
                "POST",
                f"/secret/{web_secret}",
                {"data": {"passphrase": "not the phrase"}},
            )
        )
    answers = []
    for label, method, path, options in requests:
        response = await site.request(method, path, **options)
        expected = int(label[:3])
        assert response.status_code == expected, (label, response.status_code, response.text)
        answers.append(Answer(label, method, path, response))
    return answers


@asynccontextmanager
async def open_site(
    root: Path, smtp: SmtpServer, ssl: bool = False, **overrides: Any
) -> AsyncIterator[Site]:
    """A Site on a fresh app whose data live under `root`."""
    (root / "data").mkdir(parents=True)
    (root / "counters").mkdir()
    settings = load_settings(
        secret=TEST_SECRET,
        data_dir=root / "data",
        counters_dir=root / "counters",
        site_host=HOST,
        argon2_memory_kib=1024,
        argon2_time_cost=1,
        ssl=ssl,
        smtp_url=f"smtp://127.0.0.1:{smtp.port}",
        signup_limit=0,
        reset_limit=0,
        mail_limit=0,
        create_limit=0,
        **overrides,
    )
    clock = ManualClock()
    app = create_app(settings, clock=clock)

    async def fail() -> None:
        raise RuntimeError("a failure no handler knows")

    for path in (BOOM, "/api" + BOOM):
        app.add_api_route(path, fail, include_in_schema=False)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    base = f"{'https' if ssl else 'http'}://{HOST}"
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=base) as client,
    ):
        env = InProcess(client, clock, settings, app)
        members = [
            await make_account(app, address)
            for address in ("alice@example.com", "bob@example.com", "carol@example.com")
        ]
        yield Site(env, smtp, client, ssl, *members)


@pytest.fixture
def make_site(tmp_path: Path, smtp: SmtpServer) -> Callable[..., Any]:
    """`async with make_site(ssl=…, **settings) as site:` — a Site on a fresh app."""
    made = 0

    def start(ssl: bool = False, **overrides: Any) -> Any:
        nonlocal made
        made += 1
        return open_site(tmp_path / f"site-{made}", smtp, ssl, **overrides)

    return start


@dataclass
class Swept:
    site: Site
    routes: set[tuple[str, str]]
    answers: list[Answer]


@pytest_asyncio.fixture(
    scope="module", loop_scope="module", params=[False, True], ids=["http", "ssl"]
)
async def swept(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Swept]:
    """Every route, anonymously and signed in, and the error answers: swept once per module."""
    mail = smtp_fixture()
    smtp = next(mail)
    try:
        root = tmp_path_factory.mktemp("sweep")
        async with open_site(root, smtp, ssl=request.param) as site:
            routes = declared_routes(site.env.app) - {("GET", BOOM), ("GET", "/api" + BOOM)}
            answers = await sweep_routes(site, routes, signed=False)
            answers += await sweep_routes(site, routes, signed=True)
            answers += await sweep_errors(site)
            yield Swept(site, routes, answers)
    finally:
        mail.close()


# -- the sweep ------------------------------------------------------------------------------


async def test_the_sweep_calls_every_declared_route(swept: Swept) -> None:
    routes = swept.routes
    # The app's own listing is complete enough to trust: pages, both APIs, files, accounts.
    for expected in (
        ("POST", "/api/v1/share"),
        ("POST", "/api/v2/secret/{key}/reveal"),
        ("PATCH", "/api/v2/receipt/{key}"),
        ("POST", "/secret/{key}"),
        ("POST", "/account/delete"),
        ("GET", "/static/{path}"),
        ("GET", "/api/openapi.json"),
    ):
        assert expected in routes
    assert len(routes) >= 80
    for signed in (False, True):
        called = {(a.method, a.template) for a in swept.answers if a.signed == signed}
        assert routes - called == set()
    # Real keys and tokens reached the routes: most answers are not "not found".
    statuses = [a.response.status_code for a in swept.answers]
    assert sum(s in (200, 303) for s in statuses) > 0.7 * len(statuses)
    assert len({a.label for a in swept.answers if a.label.startswith("static ")}) >= 3


def _directives(csp: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            assert words[0] not in parsed, f"{words[0]} twice"
            parsed[words[0]] = words[1:]
    return parsed


async def test_every_answer_carries_the_security_headers(swept: Swept) -> None:
    assert len(swept.answers) > 200
    for answer in swept.answers:
        headers, label = answer.response.headers, answer.label
        assert len(headers.get_list("content-security-policy")) == 1, label
        csp = _directives(headers["content-security-policy"])
        assert csp["default-src"] == ["'none'"], label
        assert csp["script-src"] == ["'self'"], label  # no inline scripts, no other origin
        assert csp["style-src"] == ["'self'"], label
        assert csp["frame-ancestors"] == ["'none'"], label
        assert csp["base-uri"] == ["'none'"], label
        assert csp["form-action"] == ["'self'"], label
        sources = [s for values in csp.values() for s in values]
        assert not [s for s in sources if "unsafe" in s or "*" in s or "://" in s], label
        assert set(sources) <= {"'self'", "'none'", "data:"}, label
        assert headers.get("x-frame-options") == "DENY", label
        assert headers.get("referrer-policy") == "no-referrer", label
        assert headers.get("x-content-type-options") == "nosniff", label
        assert "access-control-allow-origin" not in headers, label  # CORS is off by default


async def test_hsts_on_every_answer_exactly_when_served_over_tls(swept: Swept) -> None:
    for answer in swept.answers:
        sent = answer.response.headers.get_list("strict-transport-security")
        if swept.site.ssl:
            assert sent == [HSTS], answer.label
            max_age = re.match(r"max-age=(\d+);", sent[0])
            assert max_age is not None
            assert int(max_age.group(1)) >= 365 * 24 * 3600
        else:
            assert sent == [], answer.label  # a browser must not pin a plain-HTTP host


def _cacheable(answer: Answer) -> bool:
    path = answer.response.request.url.path
    return path.startswith(CACHEABLE) and answer.response.status_code < 400


async def test_nothing_but_our_assets_may_be_cached(swept: Swept) -> None:
    cached = [a for a in swept.answers if _cacheable(a)]
    assert {a.response.request.url.path for a in cached} >= {"/brand.css", "/static/style.css"}
    for answer in cached:
        assert answer.response.headers["cache-control"] == "public, max-age=3600", answer.label
        assert "set-cookie" not in answer.response.headers, answer.label
    for answer in swept.answers:
        if not _cacheable(answer):
            assert answer.response.headers.get_list("cache-control") == ["no-store"], answer.label


async def test_every_answer_showing_a_secret_key_or_token_is_no_store(swept: Swept) -> None:
    needles = [s for s in swept.site.secrets if len(s) >= 12]
    showing = []
    for answer in swept.answers:
        response = answer.response
        shown = response.text + response.headers.get("location", "")
        if KEY.search(shown) or any(needle in shown for needle in needles):
            showing.append(answer)
            assert response.headers.get("cache-control") == "no-store", answer.label
    labels = {a.label for a in showing}
    # The share page, the revealed page, the API answers with keys, the token page among them.
    assert {"POST /", "POST /generate", "POST /secret/{key}", "POST /account/token"} <= labels
    assert {"POST /api/v2/secret/conceal", "GET /receipt/{key}", "POST /api/v1/share"} <= labels


def _cookies(response: httpx.Response) -> list[tuple[str, Any]]:
    found = []
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        assert len(jar) == 1, header
        [(name, morsel)] = jar.items()
        found.append((name, morsel))
    return found


async def test_every_cookie_is_httponly_lax_host_only_and_secure_under_tls(
    swept: Swept,
) -> None:
    ssl = swept.site.ssl
    names: set[str] = set()
    for answer in swept.answers:
        for name, morsel in _cookies(answer.response):
            names.add(name)
            label = f"{answer.label}: {name}"
            assert morsel["httponly"], label
            assert morsel["samesite"].lower() in ("lax", "strict"), label
            assert morsel["path"] == "/", label
            assert not morsel["domain"], label
            assert bool(morsel["secure"]) == ssl, label
            deleting = morsel["max-age"] == "0"
            if name == swept.site.cookie_name and not deleting:
                assert not morsel["max-age"], "a session cookie ends with the browser"
                assert not morsel["expires"], "a session cookie ends with the browser"
                assert re.fullmatch(r"[A-Za-z0-9_-]{43}", morsel.value), "256 random bits"
            if not answer.signed and not deleting:
                assert (answer.method, answer.template) in ANONYMOUS_COOKIES, label
    session = "__Host-session" if ssl else "session"
    assert session in names  # signing in, and signing out (which deletes it), were swept
    assert names <= {session, "lang", "theme"}


async def test_no_page_refers_to_another_origin(swept: Swept) -> None:
    pages = [
        a
        for a in swept.answers
        if a.response.headers.get("content-type", "").startswith("text/html") and a.response.content
    ]
    assert len(pages) > 40
    for answer in pages:
        shown = Page(answer.response.text)
        for url in shown.references():
            assert is_same_origin(url, HOST) or url.startswith("data:"), (answer.label, url)
        for script in shown.all("script"):
            assert script.get("src") == "/static/app.js", answer.label
            assert not script.text.strip(), answer.label
        for element in shown.elements:
            assert "style" not in element.attrs, answer.label
            assert not [name for name in element.attrs if name.startswith("on")], answer.label


async def test_our_stylesheets_scripts_and_images_load_nothing_from_elsewhere(
    swept: Swept,
) -> None:
    sheets = {p.name: p.read_text() for p in STATIC_DIR.glob("*.css")}
    [brand] = [a for a in swept.answers if a.label == "GET /brand.css" and not a.signed]
    sheets["/brand.css"] = brand.response.text
    assert "style.css" in sheets
    for name, css in sheets.items():
        for url in re.findall(r"url\(\s*['\"]?([^'\")]*)", css):
            assert url.startswith("data:") or is_same_origin(url, HOST), (name, url)
        assert "@import" not in css, name
    for path in list(STATIC_DIR.glob("*.js")) + list(STATIC_DIR.glob("*.svg")):
        text = path.read_text()
        # An SVG names its XML namespace with a URL; that is not a request.
        text = text.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), path.name
        assert "import(" not in text, path.name
        assert "importScripts" not in text, path.name


# -- forms from other sites, and forms without the session's token ----------------------------


def snapshot(site: Site) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Every row of every table of the store and the counters: what a refused form must not change."""
    settings = site.env.settings
    roots = [settings.data_dir] + ([settings.counters_dir] if settings.counters_dir else [])
    tables = []
    for path in sorted(p for root in roots for p in root.rglob("*.sqlite3")):
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for name in sorted(names):
                rows = db.execute(f"SELECT * FROM {name}").fetchall()  # noqa: S608 - schema names
                tables.append((f"{path.name}:{name}", sorted(rows, key=repr)))
    assert len(tables) >= 3, "the snapshot sees the store"
    return tables


@dataclass
class FormCase:
    path: str
    data: dict[str, str]
    status: int  # what the same form gets when it is sent properly
    changes: bool = True  # whether that proper send changes something


async def form_case(site: Site, template: str, owner: TestAccount | None) -> FormCase:
    """The form at `template` with what it needs to succeed, for `owner` if signed in."""
    signed = owner is not None
    n = site.next()
    if template in ("/secret/{key}", "/receipt/{key}/burn", "/private/{key}/burn"):
        path = await site.fill(template)
        data = {"confirm": "yes"} if template.endswith("/burn") else {}
        return FormCase(path, data, 200 if template == "/secret/{key}" else 303)
    if template.startswith("/account/") and "{token}" in template:
        path = await site.fill(template)
        data = {"password": f"a brand new password {n}"} if "/reset/" in template else {}
        return FormCase(path, data, 303)
    simple = {
        "/": ({"secret": f"form case {n}"}, 303),
        "/generate": ({"length": "20"}, 200),
        "/preferences": ({"lang": "fr", "next": "/"}, 303),
        "/signup": ({"email": f"case-{n}@example.com", "password": PASSWORD}, 200),
        "/forgot": ({"email": site.other.email}, 200),
    }
    if template in simple:
        data, status = simple[template]
        return FormCase(template, data, status)
    if template == "/signin":
        who = owner or site.member
        return FormCase(template, {"email": who.email, "password": who.password}, 303)
    if template == "/signout":
        return FormCase(template, {}, 303, changes=signed)
    password = (owner or site.member).password
    account_forms = {
        "/account/preferences": {"lang": "de", "notify": "1"},
        "/account/password": {"current_password": password, "new_password": f"new password {n}"},
        "/account/email": {"email": f"moved-{n}@example.net", "password": password},
        "/account/token": {},
        "/account/delete": {"password": password, "confirm": "yes"},
    }
    assert template in account_forms, f"no form case for POST {template}: teach form_case"
    status = (200 if template == "/account/token" else 303) if signed else 303
    return FormCase(template, account_forms[template], status, changes=signed)


def web_forms(app: Any) -> list[str]:
    """Every page path that takes a POST: each one changes something, or signs someone in."""
    return sorted(
        template
        for method, template in declared_routes(app)
        if method == "POST" and not template.startswith("/api/")
    )


FOREIGN = {
    "cross-site fetch": {"sec-fetch-site": "cross-site"},
    "same-site fetch (a sibling subdomain)": {"sec-fetch-site": "same-site"},
    "foreign Origin": {"origin": "https://evil.example"},
    "Origin that ends like ours": {"origin": f"https://{HOST}.evil.example"},
    "Origin on another port": {"origin": f"http://{HOST}:8080"},
}
SAME_SITE = {"sec-fetch-site": "same-origin", "origin": f"http://{HOST}"}


async def _refused(
    site: Site, case: FormCase, cookie: str | None, headers: dict[str, str], data: dict[str, str]
) -> httpx.Response:
    before, mails = snapshot(site), len(site.smtp.inbox.envelopes)
    response = await site.request("POST", case.path, cookie=cookie, headers=headers, data=data)
    assert response.status_code == 403, (case.path, headers, response.text[:300])
    assert response.headers["content-type"].startswith("text/html")
    shown = Page(response.text)
    assert shown.h1, "a readable page"
    assert shown.title, "a readable page"
    assert "set-cookie" not in response.headers
    assert response.headers["cache-control"] == "no-store"
    assert snapshot(site) == before, f"{case.path} changed the store although it was refused"
    assert len(site.smtp.inbox.envelopes) == mails, f"{case.path} sent mail although refused"
    return response


async def _control(site: Site, case: FormCase, cookie: str | None, data: dict[str, str]) -> None:
    """The same form, sent properly: it works, so the refusals were about where it came from."""
    before, mails = snapshot(site), len(site.smtp.inbox.envelopes)
    response = await site.request("POST", case.path, cookie=cookie, headers=SAME_SITE, data=data)
    assert response.status_code == case.status, (case.path, response.status_code, response.text)
    cookies = [m for _, m in _cookies(response) if m["max-age"] != "0"]
    changed = snapshot(site) != before or len(site.smtp.inbox.envelopes) > mails or bool(cookies)
    assert changed == case.changes, case.path


async def test_every_form_is_refused_from_another_site(make_site: Callable[..., Any]) -> None:
    async with make_site() as site:
        forms = web_forms(site.env.app)
        assert len(forms) >= 18
        for template in forms:
            case = await form_case(site, template, None)
            for headers in FOREIGN.values():
                refused = await _refused(site, case, None, headers, case.data)
                assert "another site" in Page(refused.text).text, template
            await _control(site, case, None, case.data)


async def test_signed_in_forms_need_the_sessions_csrf_token(make_site: Callable[..., Any]) -> None:
    async with make_site() as site:
        for template in web_forms(site.env.app):
            # Each form gets its own account and session: the controls change passwords, delete…
            owner = await make_account(site.env.app, f"owner-{site.next()}@example.com")
            cookie, csrf = await site.session(owner)
            _other_cookie, other_csrf = await site.session(owner)
            case = await form_case(site, template, owner)
            tokens = {
                "no token": None,
                "an empty token": "",
                "a made-up token": "x" * len(csrf),
                "another session's token": other_csrf,
                "the cookie itself": cookie,
            }
            for token in tokens.values():
                data = dict(case.data) if token is None else {**case.data, "csrf": token}
                refused = await _refused(site, case, cookie, SAME_SITE, data)
                assert "expired" in Page(refused.text).text, template
            for headers in FOREIGN.values():
                await _refused(site, case, cookie, headers, {**case.data, "csrf": csrf})
            await _control(site, case, cookie, {**case.data, "csrf": csrf})


async def test_a_refused_reveal_or_burn_leaves_the_secret_readable(
    make_site: Callable[..., Any],
) -> None:
    """What the refusals protect, seen from outside: the secret is still there, once."""
    async with make_site() as site:
        secret_key, receipt_key = await site.secret()
        cookie, _csrf = await site.session()
        for headers in FOREIGN.values():
            for path, data in (
                (f"/secret/{secret_key}", {}),
                (f"/receipt/{receipt_key}/burn", {"confirm": "yes"}),
            ):
                assert (
                    await site.request("POST", path, headers=headers, data=data)
                ).status_code == 403
                signed = await site.request("POST", path, cookie=cookie, data=data)
                assert signed.status_code == 403, "no CSRF token"
        receipt = await site.request("GET", f"/api/v2/receipt/{receipt_key}")
        assert receipt.json()["record"]["state"] == "new"
        revealed = await site.request("POST", f"/api/v2/secret/{secret_key}/reveal", json={})
        assert revealed.json()["record"]["secret_value"].startswith("swept secret")
        again = await site.request("POST", f"/api/v2/secret/{secret_key}/reveal", json={})
        assert again.status_code == 404


# -- CORS ---------------------------------------------------------------------------------------

APP_ORIGIN = "https://app.example.com"
EVIL_ORIGIN = "https://evil.example"


def _cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


def _preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": method,
        "access-control-request-headers": "authorization, content-type",
    }


async def test_cors_is_off_by_default(make_site: Callable[..., Any]) -> None:
    async with make_site() as site:
        secret_key, receipt_key = await site.secret()
        for origin in (APP_ORIGIN, EVIL_ORIGIN, "null"):
            for method, path, options in (
                ("GET", "/api/v2/status", {}),
                ("GET", f"/api/v2/receipt/{receipt_key}", {}),
                ("POST", "/api/v2/secret/conceal", {"json": {"secret": {"secret": "x"}}}),
                ("POST", "/api/v1/share", {"data": {"secret": "x"}}),
                ("GET", "/api/v2/receipt/recent", {"auth": site.member.basic}),
                ("GET", "/api/v2/secret/unknown", {}),
            ):
                answer = await site.request(method, path, headers={"origin": origin}, **options)
                assert _cors_headers(answer) == {}, (origin, path)
            for path in ("/api/v2/secret/conceal", f"/api/v2/secret/{secret_key}/reveal"):
                preflight = await site.request("OPTIONS", path, headers=_preflight(origin))
                assert preflight.status_code == 405, path
                assert _cors_headers(preflight) == {}, path


async def test_cors_for_configured_origins_on_the_api_only(make_site: Callable[..., Any]) -> None:
    async with make_site(cors_origins=(APP_ORIGIN, "http://localhost:3000")) as site:
        _secret_key, receipt_key = await site.secret()
        conceal = {"json": {"secret": {"secret": "from the app", "ttl": 3600}}}
        # An allowed origin may read answers, never with credentials.
        for method, path, options in (
            ("GET", f"/api/v2/receipt/{receipt_key}", {}),
            ("POST", "/api/v2/secret/conceal", conceal),
            ("POST", "/api/v1/share", {"data": {"secret": "from the app"}}),  # the fast lane
            ("GET", "/api/v2/secret/unknown", {}),
        ):
            answer = await site.request(method, path, headers={"origin": APP_ORIGIN}, **options)
            cors = _cors_headers(answer)
            assert cors.get("access-control-allow-origin") == APP_ORIGIN, path
            assert "access-control-allow-credentials" not in cors, path
            assert "origin" in answer.headers.get("vary", "").lower(), path
            assert answer.headers["content-security-policy"], "still every security header"
        local = await site.request(
            "GET", "/api/v2/status", headers={"origin": "http://localhost:3000"}
        )
        assert local.headers["access-control-allow-origin"] == "http://localhost:3000"

        preflight = await site.request(
            "OPTIONS", "/api/v2/secret/conceal", headers=_preflight(APP_ORIGIN)
        )
        assert preflight.status_code == 200
        cors = _cors_headers(preflight)
        assert cors["access-control-allow-origin"] == APP_ORIGIN
        assert "POST" in cors["access-control-allow-methods"]
        assert "authorization" in cors["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in cors
        assert preflight.headers["x-content-type-options"] == "nosniff"

        # Any other origin, and every page, gets no CORS header at all.
        for origin in (
            EVIL_ORIGIN,
            "null",
            "https://app.example.com.evil.example",
            "http://app.example.com",
        ):
            answer = await site.request("GET", "/api/v2/status", headers={"origin": origin})
            assert _cors_headers(answer) == {}, origin
            refused = await site.request(
                "OPTIONS", "/api/v2/secret/conceal", headers=_preflight(origin)
            )
            assert refused.status_code == 405, origin
            assert _cors_headers(refused) == {}, origin
        for path in ("/", f"/receipt/{receipt_key}", "/health", "/static/style.css"):
            page = await site.request("GET", path, headers={"origin": APP_ORIGIN})
            assert _cors_headers(page) == {}, path
        web = await site.request("OPTIONS", "/", headers=_preflight(APP_ORIGIN))
        assert _cors_headers(web) == {}


async def test_cors_origins_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    base = {"secret": "s" * 40, "data_dir": tmp_path}
    assert load_settings(**base).cors_origins == ()
    monkeypatch.setenv("ONETIME_CORS_ORIGINS", " https://App.Example.com/ , http://localhost:3000")
    assert load_settings(**base).cors_origins == (
        "https://app.example.com",
        "http://localhost:3000",
    )
    for wrong in ("*", "app.example.com", "https://app.example.com/path", "ftp://x.example"):
        monkeypatch.setenv("ONETIME_CORS_ORIGINS", wrong)
        with pytest.raises(SettingsError, match="ONETIME_CORS_ORIGINS"):
            load_settings(**base)
