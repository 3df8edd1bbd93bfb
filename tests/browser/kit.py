"""The browser kit: Chromium's launch options, recorded tabs, and the steps of the product.

Every page a test opens comes from `Browsing.open`, which gives it a fresh browser context and
records each network request, console message and page error, so that the test's teardown can
check that nothing left the server's origin and that nothing went wrong in the page.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Locator,
    Page,
    Request,
    Response,
    expect,
)

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
THEMES = ("light", "dark")
VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True},
}
TIMEOUT_MS = 5_000  # a local server answers in milliseconds; fail fast when an element is missing
expect.set_options(timeout=TIMEOUT_MS)

# Screenshots written during this run, named in the terminal summary.
SHOTS: list[Path] = []
# "Failed to load resource: the server responded with a status of 404 (Not Found)"
_RESOURCE_STATUS = re.compile(r"^Failed to load resource: the server responded with a status of")


def screenshot_dir() -> Path:
    """Where screenshots go: $ONETIME_SCREENSHOT_DIR, or test-artifacts/screenshots/."""
    configured = os.environ.get("ONETIME_SCREENSHOT_DIR")
    return Path(configured) if configured else REPO_ROOT / "test-artifacts" / "screenshots"


@dataclass
class Tab:
    """One page in its own browser context, and everything it did."""

    page: Page
    context: BrowserContext
    origin: str
    theme: str
    viewport: str
    js: bool
    requests: list[str] = field(default_factory=list)
    documents: dict[str, int] = field(default_factory=dict)  # page address -> HTTP status
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def url(self, path_or_url: str) -> str:
        return path_or_url if "://" in path_or_url else self.origin + path_or_url

    def goto(self, path_or_url: str) -> Response | None:
        return self.page.goto(self.url(path_or_url))

    def screenshot(self, name: str) -> Path:
        """Save the whole page as `{name}-{theme}-{viewport}.png` in the screenshot folder."""
        folder = screenshot_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}-{self.theme}-{self.viewport}.png"
        self.page.screenshot(path=str(path), full_page=True)
        SHOTS.append(path)
        return path

    # -- recording ------------------------------------------------------------------------

    def _on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _on_response(self, response: Response) -> None:
        if response.request.is_navigation_request():
            self.documents[response.url] = response.status

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "")
        # A page answered with 404 or 422 on purpose (gone, wrong passphrase) is logged like a
        # failed resource; a failed subresource (a script, a style, an icon) or a server error
        # is a problem.
        if _RESOURCE_STATUS.match(message.text) and self.documents.get(where, 500) < 500:
            return
        self.console_errors.append(f"{message.text} (at {where})")

    def _on_page_error(self, error: Exception) -> None:
        self.page_errors.append(str(error))

    def _on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.accept()

    def problems(self) -> list[str]:
        """Requests that left the server's origin, console errors and page errors."""
        label = f"[{self.theme}/{self.viewport}/{'js' if self.js else 'no-js'}]"
        found = [
            f"{label} request outside the server: {url}"
            for url in self.requests
            if not is_own(url, self.origin)
        ]
        found += [f"{label} console error: {text}" for text in self.console_errors]
        found += [f"{label} page error: {text}" for text in self.page_errors]
        return found


def is_own(url: str, origin: str) -> bool:
    """The server itself, or something that needs no network (data:, about:)."""
    if urlsplit(url).scheme in ("data", "about"):
        return True
    return url == origin or url.startswith(origin + "/")


class Browsing:
    """Opens tabs, each in a fresh context, and keeps them for the after-test checks."""

    def __init__(self, browser: Browser, origin: str) -> None:
        self.browser = browser
        self.origin = origin
        self.tabs: list[Tab] = []

    def open(
        self,
        path_or_url: str | None = "/",
        *,
        theme: str = "light",
        viewport: str = "desktop",
        js: bool = True,
        clipboard: bool = False,
    ) -> Tab:
        context = self.browser.new_context(
            color_scheme=theme,  # type: ignore[arg-type]
            java_script_enabled=js,
            locale="en-US",
            **VIEWPORTS[viewport],
        )
        context.set_default_timeout(TIMEOUT_MS)
        if clipboard:
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=self.origin)
        page = context.new_page()
        tab = Tab(page, context, self.origin, theme, viewport, js)
        context.on("request", tab._on_request)
        page.on("response", tab._on_response)
        page.on("console", tab._on_console)
        page.on("pageerror", tab._on_page_error)
        page.on("dialog", tab._on_dialog)
        self.tabs.append(tab)
        if path_or_url is not None:
            tab.goto(path_or_url)
        return tab

    def problems(self) -> list[str]:
        return [problem for tab in self.tabs for problem in tab.problems()]

    def close(self) -> None:
        for tab in self.tabs:
            tab.context.close()


# -- reading pages ----------------------------------------------------------------------------


def value_of(locator: Locator) -> str:
    """What a control or element shows: a field's value, a link's address, or its text."""
    value: str = locator.evaluate(
        """el => {
            if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement
                || el instanceof HTMLSelectElement || el instanceof HTMLOutputElement) {
                return el.value;
            }
            if (el instanceof HTMLAnchorElement) return el.href;
            return el.textContent;
        }"""
    )
    return value.strip()


def words(locator: Locator) -> str:
    return " ".join((locator.text_content() or "").split())


def sample_text(label: str) -> str:
    """A multi-line secret with markup, quotes and non-ASCII text, unique to this test."""
    return (
        f"{label} {secrets.token_hex(4)}\n"
        "  <b>bold?</b> & \"quotes\" 'single'\n"
        "ünïcödé — 日本語 — ✓\n"
        "last line"
    )


# -- the steps of the product -----------------------------------------------------------------


@dataclass
class Shared:
    """The two links the share page gives the creator."""

    share_url: str
    receipt_url: str


def read_share(tab: Tab) -> Shared:
    """The share page's links: the secret link (a readonly field) and the receipt link."""
    page = tab.page
    link = page.locator("#share-link")
    expect(link).to_be_visible()
    share_url = link.input_value()
    assert re.fullmatch(re.escape(tab.origin) + r"/secret/[0-9a-z]+", share_url), share_url
    receipt_url = tab.url(value_of(page.locator("#receipt-link")))
    assert re.fullmatch(re.escape(tab.origin) + r"/(receipt|private)/[0-9a-z]+", receipt_url), (
        receipt_url
    )
    return Shared(share_url, receipt_url)


def create_secret(tab: Tab, text: str, passphrase: str | None = None) -> Shared:
    """Fill the create form on the current page, send it, and read the share page."""
    page = tab.page
    page.locator("#secret").fill(text)
    if passphrase is not None:
        page.locator("#passphrase").fill(passphrase)
    page.locator("#create-button").click()
    return read_share(tab)


def reveal(tab: Tab, passphrase: str | None = None) -> None:
    """Press the reveal button on the current reveal page, typing a passphrase first if given."""
    page = tab.page
    if passphrase is not None:
        page.locator("#passphrase").fill(passphrase)
    page.locator("#reveal-button").click()


def revealed_text(tab: Tab) -> str:
    box = tab.page.locator("textarea#secret-value")
    expect(box).to_be_visible()
    return box.input_value()


def expect_gone(tab: Tab) -> None:
    expect(tab.page.locator("#gone")).to_be_visible()
    expect(tab.page.locator("#secret-value")).to_have_count(0)
    expect(tab.page.locator("#reveal-button")).to_have_count(0)


def receipt_state(tab: Tab) -> str:
    state = tab.page.locator("#state")
    expect(state).to_be_visible()
    return words(state)


def choose(control: Locator, value: str) -> None:
    """Set a select to an option's value, or type into an input."""
    tag = control.evaluate("el => el.tagName.toLowerCase()")
    if tag == "select":
        control.select_option(value)
    else:
        control.fill(value)
