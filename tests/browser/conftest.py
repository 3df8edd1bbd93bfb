"""Browser fixtures: Debian's Chromium through Playwright's sync API, one live server per module.

The browser lives for this folder's tests and each server for one module: Playwright's sync API
keeps its own event loop marked as running while it is alive, which must not overlap the
asyncio tests elsewhere (a package-scoped fixture ends before the next folder starts).
After every test, each tab it opened must have made requests only to the server itself, and
no page may have logged a console error or thrown.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.browser.kit import CHROMIUM, LAUNCH_ARGS, SHOTS, Browsing, screenshot_dir
from tests.conftest import LiveServer, free_port, start_server, stop_server

_CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report: pytest.TestReport = yield
    if report.when == "call":
        item.stash[_CALL_REPORT] = report
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SHOTS:
        terminalreporter.write_line(
            f"browser screenshots: {len(set(SHOTS))} PNG files in {screenshot_dir()}"
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real server whose links point at itself, with no limit on creations per client."""
    root = tmp_path_factory.mktemp("browser")
    port = free_port()
    live = start_server(
        root / "data",
        root / "server.log",
        extra_env={"ONETIME_CREATE_LIMIT": "0", "ONETIME_SITE_HOST": f"127.0.0.1:{port}"},
        port=port,
    )
    yield live
    stop_server(live)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for this folder's tests, closed before any other folder's tests run."""
    if not CHROMIUM.exists():
        reason = (
            f"the browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def browsing(
    browser: Browser, server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[Browsing]:
    """Open tabs with `browsing.open(...)`; afterwards their requests and consoles are checked."""
    session = Browsing(browser, server.url)
    yield session
    session.close()
    problems = session.problems()
    report = request.node.stash.get(_CALL_REPORT, None)
    if report is not None and report.passed:
        assert not problems, "\n".join(problems)
    else:  # the test failed already: show what the pages did, and what the server said
        for problem in problems:
            print(problem)
        print("--- server log (last 40 lines) ---")
        print("\n".join(server.logs().splitlines()[-40:]))
