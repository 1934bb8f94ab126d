"""Two-step login in Chromium: turning TOTP on from the security page (QR code, key,
confirmation, recovery codes shown once), then the login page's second step."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.e2e.ui.support import Watch
from tests.harness.http import ADMIN_PASSWORD, PASSWORD
from tests.harness.portal import Portal, running_portal
from tests.harness.servers import assert_no_crashes


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    data_dir = tmp_path_factory.mktemp("totp-browser")
    env = {"FILEBAY_AUTH": "on", "FILEBAY_ADMIN_PASSWORD": ADMIN_PASSWORD}
    with running_portal(Portal, "all", data_dir, "", env, "totp") as running:
        yield running
        assert_no_crashes(running.deployment)


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def context(browser: Browser, watch: Watch) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    watch.attach(context)
    yield context
    context.close()
    watch.check()


def _password_login(context: BrowserContext, portal: Portal, username: str, next: str) -> None:
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(f"{portal.auth}/login?next={next}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-button")


def test_turn_on_totp_then_log_in_in_two_steps(
    portal: Portal, browser: Browser, context: BrowserContext, watch: Watch
) -> None:
    portal.add_user("totp-ui")
    _password_login(context, portal, "totp-ui", "/account/security")
    page = context.pages[0]
    page.wait_for_url(f"{portal.auth}/account/security")
    expect(page.locator("#totp-status")).to_have_text("Two-step login is off.")
    page.click("#totp-enable")
    expect(page.locator("#totp-qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    app = pyotp.TOTP(secret)
    page.fill("#totp-code", app.now())
    page.click("#totp-confirm")
    expect(page.locator("#totp-error")).to_have_text("")
    # Ten Argon2id hashes on a busy machine: give it time.
    expect(page.locator("#recovery-codes li")).to_have_count(10, timeout=30_000)
    expect(page.locator("#totp-status")).to_have_text("Two-step login is on.")
    recovery = page.locator("#recovery-codes li").all_inner_texts()

    # Another browser: the password alone is not enough any more.
    other = browser.new_context()
    other.set_default_timeout(15_000)
    watch.attach(other)
    try:
        _password_login(other, portal, "totp-ui", "/uploads")
        second = other.pages[0]
        expect(second.locator("#mfa-form")).to_be_visible()
        assert "filebay_session" not in {c["name"] for c in other.cookies()}
        second.fill("#mfa-code", "000000")
        second.click("#mfa-button")
        expect(second.locator("#mfa-error")).to_contain_text("wrong code")
        watch.allow("status of 401")  # the wrong code's answer
        second.fill("#mfa-code", app.at(time.time() + 30))
        second.click("#mfa-button")
        second.wait_for_url(f"{portal.auth}/uploads")
        me = second.evaluate("fetch('/api/me').then(r => r.json())")
        assert me["username"] == "totp-ui"
    finally:
        other.close()

    # A third browser signs in with a recovery code instead.
    third = browser.new_context()
    third.set_default_timeout(15_000)
    try:
        _password_login(third, portal, "totp-ui", "/uploads")
        page3 = third.pages[0]
        page3.fill("#mfa-code", recovery[0])
        page3.click("#mfa-button")
        page3.wait_for_url(f"{portal.auth}/uploads")
    finally:
        third.close()


def test_the_security_page_lists_sessions_and_signs_out_elsewhere(
    portal: Portal, browser: Browser, context: BrowserContext
) -> None:
    portal.add_user("sessions-ui")
    other = browser.new_context(user_agent="Mozilla/5.0 (iPhone) Safari/604.1")
    other.set_default_timeout(15_000)
    try:
        _password_login(other, portal, "sessions-ui", "/uploads")
        other.pages[0].wait_for_url(f"{portal.auth}/uploads")
        _password_login(context, portal, "sessions-ui", "/account/security")
        page = context.pages[0]
        page.wait_for_url(f"{portal.auth}/account/security")
        rows = page.locator("#session-list tr")
        expect(rows).to_have_count(2)
        expect(page.locator("#session-list .session-device")).to_contain_text(
            ["Chrome on Linux", "Safari on iOS"], ignore_case=True
        )
        expect(page.locator("#session-list .badge")).to_have_count(1)  # "this one"
        page.click("#sign-out-others")
        expect(page.locator("#session-status")).to_have_text("Signed out of 1 other session.")
        expect(rows).to_have_count(1)
        # The other browser is signed out (this process forgot its check at once).
        answer = other.pages[0].evaluate("fetch('/api/me').then(r => r.status)")
        assert answer == 401
    finally:
        other.close()
