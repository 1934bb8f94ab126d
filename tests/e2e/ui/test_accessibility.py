"""Every page passes axe-core's WCAG 2.2 AA rules, light and dark, on a desktop and on a
phone; the admin page fits a phone without scrolling sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ui.conftest import NewContext
from tests.e2e.ui.support import (
    ADMIN_PASSWORD,
    PASSWORD,
    add_user,
    axe_violations,
    bearer,
    login,
    png,
    put_file,
)
from tests.harness.portal import Portal

PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


def share(portal: Portal, token: str, file_id: str, **body: object) -> str:
    r = portal.http.post(
        f"{portal.metadata}/api/files/{file_id}/shares", json=body, headers=bearer(token)
    )
    assert r.status_code == 201, r.text
    return str(r.json()["url"])


def no_sideways_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= innerWidth"))


def check(page: Page, where: str) -> None:
    page.wait_for_load_state("networkidle")
    violations = axe_violations(page)
    assert violations == [], f"{where}:\n" + "\n".join(violations)
    assert no_sideways_scroll(page), f"{where}: the page scrolls sideways"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_page_passes_axe(
    portal: Portal, new_context: NewContext, scheme: str, viewport: dict[str, int]
) -> None:
    username = add_user(portal, "axe")
    token = portal.login(username)
    picture = put_file(portal, token, "photos/picture.png", png(320, 200))
    notes = put_file(portal, token, "notes.txt", b"some notes\n")
    open_link = share(portal, token, picture["id"], expires_in=7 * 86400)
    text_link = share(portal, token, notes["id"])
    locked_link = share(portal, token, notes["id"], password="open sesame", max_downloads=3)
    portal.add_user(f"{username}-b", PASSWORD)  # the admin page lists more than one user

    # bypass_csp: axe is injected as an inline script. Reduced motion: colours are measured
    # as they settle, not half-way through a button's transition.
    context, watch = new_context(
        bypass_csp=True, color_scheme=scheme, viewport=viewport, reduced_motion="reduce"
    )
    watch.allow(r"status of (404|401)")  # the error page and the wrong password, on purpose
    page = context.new_page()

    # Pages without a login: the login page, the share pages, the error page.
    page.goto(f"{portal.auth}/login")
    expect(page.locator("html")).to_have_attribute("data-bs-theme", scheme)
    check(page, "login")
    page.goto(f"{portal.download}{open_link}")
    expect(page.locator("img.share-preview")).to_be_visible()
    check(page, "share page with an image")
    page.goto(f"{portal.download}{text_link}")
    expect(page.locator("iframe.share-frame")).to_be_visible()
    check(page, "share page with text")
    page.goto(f"{portal.download}{locked_link}")
    check(page, "share page with a password")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Unlock").click()
    expect(page.locator("#share-error")).to_be_visible()
    check(page, "share page after a wrong password")
    page.goto(f"{portal.download}/s/{'x' * 43}")
    check(page, "error page")

    # The user's pages, with something in them.
    login(page, portal.upload, username, PASSWORD)
    expect(page.locator("#entries .fm-entry")).to_have_count(2)
    page.locator("#file-input").set_input_files(
        files=[{"name": "fresh.txt", "mimeType": "text/plain", "buffer": b"fresh"}]
    )
    expect(page.locator("#upload-list .upload-card[data-state=done]")).to_have_count(1)
    check(page, "home (list, upload panel folded)")
    page.get_by_role("button", name="Hide or show uploads").click()
    expect(page.locator("#upload-list")).to_be_visible()
    check(page, "home (list, upload panel open)")
    # (The last entry's menu: an open menu covers what is under it, which axe would count
    # against those targets.)
    page.get_by_role("button", name="Actions for notes.txt").click()
    check(page, "home (an entry's menu open)")
    page.keyboard.press("Escape")
    page.get_by_text("Grid", exact=True).click()
    check(page, "home (grid)")
    page.get_by_role("button", name="New folder").click()
    expect(page.get_by_label("Name", exact=True)).to_be_focused()
    check(page, "home (new folder dialog)")
    page.keyboard.press("Escape")
    page.get_by_role("link", name="photos").click()
    expect(page.locator("#crumbs .fm-crumb")).to_have_text(["Home", "photos"])
    check(page, "home (a folder)")
    page.goto(f"{portal.download}/uploads")
    expect(page.locator("#file-table tbody tr")).to_have_count(3)
    expect(page.get_by_role("link", name="/photos")).to_have_count(1)  # the file's folder
    check(page, "uploads")
    page.goto(f"{portal.auth}/tokens")
    check(page, "tokens")
    page.goto(f"{portal.upload}/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    check(page, "docs")
    expect(page.get_by_role("link", name="Back to filebay")).to_have_attribute("href", "/")

    # The admin's page.
    context.clear_cookies()
    login(page, portal.upload, "admin", ADMIN_PASSWORD)
    page.goto(f"{portal.auth}/admin")
    expect(page.locator("#user-table tbody tr")).to_have_count(portal_users(portal))
    check(page, "admin")
    page.goto(f"{portal.download}/uploads?owner=all")
    check(page, "uploads, all users")


def portal_users(portal: Portal) -> int:
    r = portal.http.get(f"{portal.auth}/api/users", headers=portal.admin())
    assert r.status_code == 200, r.text
    return len(r.json()["items"])


def test_the_admin_page_fits_a_phone(portal: Portal, new_context: NewContext) -> None:
    """375 px wide: no sideways scroll, and every action button of every user is on screen."""
    for prefix in ("phone-a", "phone-with-a-rather-long-name-", "phone-c"):
        add_user(portal, prefix, quota_bytes=100 * 1024 * 1024)
    context, _watch = new_context(viewport=PHONE)
    page = context.new_page()
    login(page, portal.upload, "admin", ADMIN_PASSWORD)
    page.goto(f"{portal.auth}/admin")
    rows = page.locator("#user-table tbody tr")
    expect(rows).to_have_count(portal_users(portal))
    assert no_sideways_scroll(page)
    buttons = page.locator("#user-table tbody button")
    assert buttons.count() >= 7 * 4
    for i in range(buttons.count()):
        box = buttons.nth(i).bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], buttons.nth(i)
        assert box["height"] >= 24 and box["width"] >= 24
    # Each cell says what it is, the table's headers being hidden on a phone.
    first = rows.first
    expect(first.locator("td[data-label=Role]")).to_be_visible()
    # The token panel fits too.
    rows.first.get_by_role("button", name="Tokens").click()
    expect(page.locator("#token-panel")).to_be_visible()
    assert no_sideways_scroll(page)
