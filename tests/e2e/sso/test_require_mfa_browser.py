"""FILEBAY_REQUIRE_MFA=all in Chromium: a password login without a second factor lands on
the security page, and only after turning TOTP on does it go where it was headed."""

from __future__ import annotations

from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.ui.support import Watch
from tests.harness.http import ADMIN_PASSWORD
from tests.harness.portal import Portal, running_portal
from tests.harness.servers import assert_no_crashes


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    data_dir = tmp_path_factory.mktemp("require-mfa-browser")
    env = {
        "FILEBAY_AUTH": "on",
        "FILEBAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "FILEBAY_REQUIRE_MFA": "admins",
    }
    with running_portal(Portal, "all", data_dir, "", env, "requiremfa") as running:
        yield running
        assert_no_crashes(running.deployment)


def test_enrolment_comes_first(portal: Portal, browser: Browser) -> None:
    # The harness's admin token would be enrolment-only: the admin here is made by hand.
    form = {"username": "admin", "password": ADMIN_PASSWORD}
    restricted = portal.http.post(f"{portal.auth}/api/auth/token", data=form).json()
    assert restricted["mfa_enrol_required"] is True
    context = browser.new_context()
    context.set_default_timeout(15_000)
    watch = Watch()
    watch.attach(context)
    try:
        page = context.new_page()
        page.goto(f"{portal.auth}/login?next=/uploads")
        page.fill("#username", "admin")
        page.fill("#password", ADMIN_PASSWORD)
        page.click("#login-button")
        page.wait_for_url(f"{portal.auth}/account/security?next=%2Fuploads")
        expect(page.locator("#enrol-required")).to_be_visible()
        expect(page.locator("#passkey-section")).to_have_count(0)  # not before enrolment
        # Anything else is refused meanwhile.
        status = page.evaluate("fetch('/api/files').then(r => r.status)")
        assert status == 403
        watch.allow("status of 403")
        page.click("#totp-enable")
        expect(page.locator("#totp-qr svg")).to_be_visible()
        app = pyotp.TOTP(page.locator("#totp-secret").inner_text())
        page.fill("#totp-code", app.now())
        page.click("#totp-confirm")
        expect(page.locator("#recovery-codes li")).to_have_count(10, timeout=30_000)
        page.click("#continue")
        page.wait_for_url(f"{portal.auth}/uploads")
        assert page.evaluate("fetch('/api/files').then(r => r.status)") == 200
    finally:
        context.close()
    watch.check()
