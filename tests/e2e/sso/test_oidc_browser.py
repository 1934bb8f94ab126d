"""Single sign-on in Chromium against a real OpenID Provider, on a filebay whose password
logins are off (FILEBAY_PASSWORD_LOGIN=off): the login page offers only "Sign in with …",
the round trip keeps ``next``, a callback carried to another browser shows why it failed,
password logins are refused while API tokens still work."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.sso.conftest import Site, sso_site
from tests.e2e.sso.support import sign_in_until_callback
from tests.e2e.ui.support import Watch
from tests.harness.http import ADMIN, ADMIN_PASSWORD, bearer, client


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, pg_url: str, provider_script: Path
) -> Iterator[Site]:
    data_dir = tmp_path_factory.mktemp("sso-browser")
    with sso_site(
        provider_script, "all", data_dir, pg_url, FILEBAY_PASSWORD_LOGIN="off"
    ) as running:
        yield running


@pytest.fixture
def watch() -> Watch:
    """What the pages did wrong: console errors, uncaught exceptions, remote requests."""
    return Watch()


@pytest.fixture
def context(browser: Browser, watch: Watch) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    watch.attach(context)
    yield context
    context.close()
    watch.check()


def _sign_in_at_provider(page: Page, account: str, password: str) -> None:
    page.fill("#op-login", account)
    page.fill("#op-password", password)
    page.click("#op-submit")


def test_sign_in_with_the_provider_keeps_next(site: Site, context: BrowserContext) -> None:
    portal, provider = site
    page = context.new_page()
    page.goto(f"{portal.auth}/login?next=/uploads")
    expect(page.locator("#login-form")).to_have_count(0)  # password login is off
    button = page.locator("#sso-button")
    expect(button).to_have_text("Sign in with Test Provider")
    button.click()
    page.wait_for_url(re.compile(re.escape(provider.issuer) + "/interaction/"))
    _sign_in_at_provider(page, "alice-sub", "alice-op-password")
    page.wait_for_url(f"{portal.auth}/uploads")
    me = page.evaluate("fetch('/api/me').then(r => r.json())")
    assert me["username"] == "alice" and me["via"] == "session"


def test_api_tokens_work_while_passwords_are_refused(site: Site, context: BrowserContext) -> None:
    portal, _provider = site
    page = context.new_page()
    page.goto(f"{portal.auth}/login")
    page.click("#sso-button")
    _sign_in_at_provider(page, "carol-sub", "carol-op-password")
    page.wait_for_url(f"{portal.auth}/")
    created = page.evaluate(
        """async () => {
          const csrf = document.cookie.split('; ').find(c => c.startsWith('filebay_csrf='))
            .split('=')[1];
          const r = await fetch('/api/tokens', {method: 'POST', headers: {
            'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
            body: JSON.stringify({name: 'script'})});
          return {status: r.status, body: await r.json()};
        }"""
    )
    assert created["status"] == 201, created
    with client() as http:
        me = http.get(f"{portal.auth}/api/me", headers=bearer(created["body"]["token"]))
        assert me.status_code == 200 and me.json()["username"] == "carol"
        refused = http.post(
            f"{portal.auth}/api/auth/login", json={"username": ADMIN, "password": ADMIN_PASSWORD}
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "password_login_off"
        form = {"username": ADMIN, "password": ADMIN_PASSWORD}
        assert http.post(f"{portal.auth}/api/auth/token", data=form).status_code == 403


def test_a_callback_carried_to_another_browser_shows_why(
    site: Site, context: BrowserContext, watch: Watch
) -> None:
    """Login CSRF: a callback of someone else's sign-in (here a sign-in made by another
    client) opened in this browser signs nobody in, and the page says why."""
    portal, _provider = site
    watch.allow("status of 400")  # the refused callback's page
    with client(cookies=True) as other_browser:
        callback = sign_in_until_callback(other_browser, portal.auth, "alice-sub")
    page = context.new_page()
    page.goto(callback)
    expect(page.locator("#sso-error")).to_contain_text("started in another browser")
    expect(page.locator("#sso-button")).to_be_visible()  # one can start again from here
    cookies = {c["name"] for c in page.context.cookies()}
    assert "filebay_session" not in cookies
