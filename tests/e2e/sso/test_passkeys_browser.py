"""Passkeys in Chromium with its virtual authenticator (CDP WebAuthn): added on the security
page (discoverable, user verification), used to sign in from the login page with no user
name or password, removed. The page is reached as http://localhost:<port> (an IP address
cannot be a WebAuthn relying party)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, CDPSession, Page, expect

from tests.e2e.ui.support import Watch
from tests.harness.http import ADMIN_PASSWORD, PASSWORD
from tests.harness.portal import Portal, running_portal
from tests.harness.servers import assert_no_crashes


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    data_dir = tmp_path_factory.mktemp("passkeys-browser")
    env = {"FILEBAY_AUTH": "on", "FILEBAY_ADMIN_PASSWORD": ADMIN_PASSWORD}
    with running_portal(Portal, "all", data_dir, "", env, "passkeys") as running:
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


def _authenticator(page: Page) -> tuple[CDPSession, str]:
    """A platform authenticator with resident keys that verifies its user (a fingerprint
    always accepted), attached to ``page``."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def test_add_a_passkey_sign_in_with_it_then_remove_it(
    portal: Portal, context: BrowserContext, watch: Watch
) -> None:
    base = portal.auth.replace("127.0.0.1", "localhost")
    portal.add_user("pk-user")
    page = context.new_page()
    cdp, authenticator = _authenticator(page)

    page.goto(f"{base}/login?next=/account/security")
    page.fill("#username", "pk-user")
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url(f"{base}/account/security")
    expect(page.locator("#no-passkeys")).to_be_visible()
    page.fill("#passkey-name", "laptop")
    page.click("#passkey-add")
    expect(page.locator("#passkey-list .passkey-name")).to_have_text(["laptop"])
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert [c["isResidentCredential"] for c in credentials["credentials"]] == [True]
    rows = portal.rows("passkeys")
    assert [(r["username"], r["name"]) for r in rows] == [("pk-user", "laptop")]

    # Signed out: the passkey alone signs in, no user name typed.
    context.clear_cookies()
    page.goto(f"{base}/login?next=/uploads")
    page.click("#passkey-button")
    page.wait_for_url(f"{base}/uploads")
    me = page.evaluate("fetch('/api/me').then(r => r.json())")
    assert me["username"] == "pk-user" and me["via"] == "session"
    assert portal.rows("passkeys")[0]["last_used_at"] is not None

    # Removed: the authenticator still offers it, the server no longer takes it.
    page.goto(f"{base}/account/security")
    page.get_by_role("button", name="Remove passkey laptop").click()
    expect(page.locator("#no-passkeys")).to_be_visible()
    assert portal.rows("passkeys") == []
    context.clear_cookies()
    watch.allow("status of 401")  # the refused sign-in
    page.goto(f"{base}/login")
    page.click("#passkey-button")
    expect(page.locator("#passkey-error")).to_contain_text("not known here")
    assert "filebay_session" not in {c["name"] for c in context.cookies()}
    # The audit log has each step.
    log = portal.http.get(
        f"{portal.auth}/api/audit", params={"actor": "pk-user"}, headers=portal.admin()
    ).json()["items"]
    steps = {(e["type"], e["target"]) for e in log}
    assert {("passkey.added", "laptop"), ("login.ok", "passkey")} <= steps
    assert "passkey.removed" in {e["type"] for e in log}
