"""Fixtures of the browser tests: a real filebay with logins on, and Debian's Chromium
driven by Playwright (never a browser Playwright downloads)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from tests.e2e.ui.support import (
    ADMIN_PASSWORD,
    BIG_SIZE,
    CHROMIUM,
    CHROMIUM_ARGS,
    Watch,
    random_file,
)
from tests.harness.portal import Portal, running_portal
from tests.harness.servers import assert_no_crashes

NewContext = Callable[..., tuple[BrowserContext, Watch]]


# Package scope: Playwright's sync API runs an event loop in this thread while it is open,
# and later suites call asyncio.run().
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """filebay all in one process (SQLite), with logins, shared by the browser tests (each
    one works as a user of its own); its logs must show no crashed request."""
    data_dir = tmp_path_factory.mktemp("ui-data")
    env = {"FILEBAY_AUTH": "on", "FILEBAY_ADMIN_PASSWORD": ADMIN_PASSWORD}
    with running_portal(Portal, "all", data_dir, "", env, "ui") as running:
        yield running
        assert_no_crashes(running.deployment)


@pytest.fixture(scope="session")
def admin_token(portal: Portal) -> str:
    return portal.admin_token()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[NewContext]:
    """Browser contexts (one per person) whose pages are watched: after the test, no
    console error, no uncaught exception, no request to a host other than loopback."""
    made: list[tuple[BrowserContext, Watch]] = []

    def make(**options: Any) -> tuple[BrowserContext, Watch]:
        options.setdefault("viewport", {"width": 1280, "height": 800})
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        watch = Watch()
        watch.attach(context)
        made.append((context, watch))
        return context, watch

    yield make
    for context, _watch in made:
        context.close()
    for _context, watch in made:
        watch.check()


@pytest.fixture(scope="session")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A file large enough for tus, and its SHA-256."""
    path = tmp_path_factory.mktemp("big") / "big-video.bin"
    return path, random_file(path, BIG_SIZE)
