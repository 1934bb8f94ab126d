"""A real browser: someone without an account opens a password-protected link and downloads.

Chromium from Debian (/usr/bin/chromium), driven by Playwright; never ``playwright install``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright import sync_api

from tests.e2e.shares.support import SHARE_PASSWORD, Portal
from tests.e2e.ui.support import CHROMIUM, CHROMIUM_ARGS

TIMEOUT_MS = 30_000  # generous: CI machines with two cores run several servers at once


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def test_stranger_unlocks_and_downloads(
    portal: Portal, owner: dict[str, str], browser: sync_api.Browser, tmp_path: Path
) -> None:
    data = os.urandom(300_000)
    name = "holiday plan, ünïcode.bin"
    file_id = portal.put(owner, name, data)
    token = portal.share(owner, file_id, password=SHARE_PASSWORD, max_downloads=1)["token"]

    # A fresh context: no login, no cookies, nothing from the owner.
    context = browser.new_context(accept_downloads=True)
    try:
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
        failed: list[str] = []
        page.on("requestfailed", lambda r: failed.append(f"{r.method} {r.url}"))

        response = page.goto(portal.page_url(token))
        assert response is not None and response.status == 200
        sync_api.expect(page.locator("#share-password")).to_be_visible()
        assert name not in page.content()
        assert page.locator("#share-download").count() == 0

        # A wrong password: the form again, with an error, and still no file name.
        page.fill("#share-password", "not the password")
        page.click("#share-unlock")
        sync_api.expect(page.locator("#share-error")).to_be_visible(timeout=TIMEOUT_MS)
        assert name not in page.content()
        # Chromium reports the 401 answer of the form itself; that one is expected.
        unexpected = [e for e in errors if "401" not in e]
        assert not unexpected, unexpected
        errors.clear()

        # The right one: the file's page, then the download.
        page.fill("#share-password", SHARE_PASSWORD)
        page.click("#share-unlock")
        sync_api.expect(page.locator("#share-name")).to_have_text(name, timeout=TIMEOUT_MS)
        assert page.url == portal.page_url(token)  # no password in the address either
        with page.expect_download(timeout=TIMEOUT_MS) as info:
            page.click("#share-download")
        download = info.value
        assert download.failure() is None
        saved = tmp_path / "saved.bin"
        download.save_as(saved)
        assert saved.read_bytes() == data
        assert download.suggested_filename == name

        assert not errors, errors
        assert not failed, failed
        cookies = context.cookies()
        assert cookies and all(c["httpOnly"] and c["path"] == f"/s/{token}" for c in cookies)
    finally:
        context.close()

    # The link allowed one download, and the browser took it.
    (share,) = portal.list_shares(owner, file_id).json()["items"]
    assert share["downloads"] == 1
