"""After login the browser goes back to a page of ours, never to another site, however the
``next`` parameter is dressed up (browsers drop tab, CR and LF from a URL, so
``/\t/evil.example`` would turn into the protocol-relative ``//evil.example``)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.ui.conftest import NewContext
from tests.e2e.ui.support import PASSWORD, add_user
from tests.harness.portal import Portal

HOSTILE = [
    "/\t/evil.example/phish",
    "/\r/evil.example/phish",
    "/\n/evil.example/phish",
    "\t//evil.example/phish",
    "/ /evil.example/phish",
    "/\x0b/evil.example/phish",
]


@pytest.mark.parametrize("target", HOSTILE, ids=["tab", "cr", "lf", "lead-tab", "space", "vt"])
def test_login_never_lands_on_another_site(
    portal: Portal, admin_token: str, new_context: NewContext, target: str
) -> None:
    username = add_user(portal, "redirect")
    context, _watch = new_context()
    page = context.new_page()
    page.goto(f"{portal.auth}/login?next={quote(target, safe='/')}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#current-user")).to_have_text(username)
    final = urlsplit(page.url)
    assert final.hostname == "127.0.0.1", page.url
    assert final.path == "/", page.url
