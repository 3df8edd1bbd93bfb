"""axe-core on every page, in light and dark theme, with a screenshot of each for people to see.

The screenshots go to $ONETIME_SCREENSHOT_DIR (default test-artifacts/screenshots/), named
`{page}-{theme}-{viewport}.png`; the terminal summary names the folder.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.kit import (
    THEMES,
    Browsing,
    Tab,
    choose,
    create_secret,
    expect_gone,
    read_share,
    reveal,
    revealed_text,
)

pytestmark = pytest.mark.slow

AXE = Axe()
BLOCKING = ("serious", "critical")
PASSPHRASE = "purple elephants dance at noon"
# What the screenshots show: a realistic secret, in characters every installed font has.
SECRET = "Wi-Fi for guests\nNetwork: harbour-guest\nPassword: Tulip-Anchor-7-Meadow"


class Checker:
    """Runs axe and takes a screenshot of each page it is shown; collects what axe objects to."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.seen: list[str] = []

    def __call__(self, tab: Tab, name: str) -> None:
        tab.page.wait_for_load_state("load")
        tab.screenshot(name)
        self.seen.append(name)
        results = AXE.run(tab.page)
        for violation in results.response["violations"]:
            if violation.get("impact") not in BLOCKING:
                continue
            targets = "; ".join(
                " ".join(map(str, node.get("target", []))) for node in violation["nodes"]
            )
            self.failures.append(
                f"{name} [{tab.theme}/{tab.viewport}]: {violation['id']} ({violation['impact']}):"
                f" {violation['help']} -> {targets}"
            )

    def assert_clean(self) -> None:
        assert not self.failures, "axe found serious or critical violations:\n" + "\n".join(
            self.failures
        )


def background_luminance(tab: Tab) -> float:
    """The relative luminance of what the page is painted on (body, else html)."""
    luminance: float = tab.page.evaluate(
        """() => {
            const paint = el => getComputedStyle(el).backgroundColor;
            let colour = paint(document.body);
            if (/rgba\\(.*,\\s*0\\)$/.test(colour) || colour === 'transparent') {
                colour = paint(document.documentElement);
            }
            const [r, g, b] = colour.match(/[\\d.]+/g).slice(0, 3).map(Number).map(v => {
                v /= 255;
                return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
            });
            return 0.2126 * r + 0.7152 * g + 0.0722 * b;
        }"""
    )
    return luminance


@pytest.mark.parametrize("theme", THEMES)
def test_every_page(browsing: Browsing, theme: str) -> None:
    check = Checker()
    creator = browsing.open("/", theme=theme)
    check(creator, "create")
    luminance = background_luminance(creator)
    if theme == "dark":
        assert luminance < 0.2, f"the dark theme paints a light background ({luminance:.2f})"
    else:
        assert luminance > 0.6, f"the light theme paints a dark background ({luminance:.2f})"

    text = SECRET
    shared = create_secret(creator, text)
    check(creator, "share")
    creator.goto(shared.receipt_url)
    check(creator, "receipt")

    recipient = browsing.open(shared.share_url, theme=theme)
    check(recipient, "reveal")
    reveal(recipient)
    assert revealed_text(recipient) == text
    check(recipient, "revealed")
    recipient.goto(shared.share_url)
    expect_gone(recipient)
    check(recipient, "gone")
    creator.page.reload()
    check(creator, "receipt-revealed")

    creator.goto("/")
    locked = create_secret(creator, SECRET, passphrase=PASSPHRASE)
    creator.goto(locked.receipt_url)
    expect(creator.page.locator("#burn-passphrase")).to_be_visible()
    check(creator, "receipt-passphrase")
    recipient.goto(locked.share_url)
    check(recipient, "reveal-passphrase")
    reveal(recipient, "not the passphrase")
    expect(recipient.page.locator("[role=alert]")).to_be_visible()
    check(recipient, "reveal-passphrase-wrong")

    creator.goto("/")
    burned = create_secret(creator, SECRET)
    creator.goto(burned.receipt_url)
    creator.page.locator("#burn-confirm").check()
    creator.page.locator("#burn-button").click()
    expect(creator.page.locator("#burn-button")).to_have_count(0)
    check(creator, "receipt-burned")

    creator.goto("/")
    choose(creator.page.locator("#length"), "20")
    creator.page.locator("#generate-button").click()
    expect(creator.page.locator("#generated-password")).to_be_visible()
    read_share(creator)
    check(creator, "generate")

    creator.goto("/no-such-page")
    check(creator, "404")
    creator.goto("/api/docs")
    check(creator, "api-docs")
    check.assert_clean()


@pytest.mark.parametrize("theme", THEMES)
def test_phone_pages(browsing: Browsing, theme: str) -> None:
    check = Checker()
    creator = browsing.open("/", theme=theme, viewport="phone")
    check(creator, "create")
    width = creator.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the create page scrolls sideways on a 360 px phone ({width} px)"
    text = SECRET
    shared = create_secret(creator, text)
    check(creator, "share")
    recipient = browsing.open(shared.share_url, theme=theme, viewport="phone")
    reveal(recipient)
    assert revealed_text(recipient) == text
    check(recipient, "revealed")
    width = recipient.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the revealed page scrolls sideways on a 360 px phone ({width} px)"
    check.assert_clean()
