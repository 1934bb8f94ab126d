"""The share dialog: the owner makes a password-protected link from the file list, someone
without an account opens it in a fresh browser, unlocks it and downloads the same bytes."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.ui.conftest import NewContext
from tests.e2e.ui.support import PASSWORD, add_user, list_files, login, put_file
from tests.harness.portal import Portal


def test_owner_shares_a_file_with_a_password_and_a_guest_downloads_it(
    portal: Portal, admin_token: str, new_context: NewContext
) -> None:
    owner = add_user(portal, "sharer")
    token = portal.login(owner)
    data = b"shared through the dialog\n" * 1000
    record = put_file(portal, token, "report for guests.txt", data)

    context, _watch = new_context()
    page = context.new_page()
    login(page, portal.upload, owner, PASSWORD)
    page.goto(f"{portal.download}/uploads")
    row = page.locator(f'tr[data-id="{record["id"]}"]')
    expect(row).to_be_visible()
    expect(row.locator(".shared-badge")).to_have_count(0)
    row.get_by_role("button", name=re.compile("More actions")).click()
    row.get_by_role("button", name="Share…").click()

    dialog = page.locator("#share-modal")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Expires").select_option("86400")
    dialog.get_by_label("Password (optional)").fill("open sesame")
    dialog.get_by_label("Downloads").fill("2")
    dialog.get_by_role("button", name="Create").click()
    url_field = dialog.locator("#share-url")
    expect(url_field).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/s/[A-Za-z0-9_-]{32}$"))
    link = url_field.input_value()
    expect(dialog.locator("#share-list li")).to_have_count(1)
    expect(dialog.locator("#share-list")).to_contain_text("0 of 2 downloads")
    expect(row.locator(".shared-badge")).to_have_count(1)
    page.keyboard.press("Escape")
    assert list_files(portal, token, q="guests")[0]["shared"] is True

    guest, guest_watch = new_context()
    guest_watch.allow(r"status of 404 .*/s/")  # the revoked link, at the end
    guest_page = guest.new_page()
    guest_page.goto(link)
    expect(guest_page.get_by_label("Password")).to_be_visible()
    expect(guest_page.locator("body")).not_to_contain_text("report for guests")
    guest_page.get_by_label("Password").fill("open sesame")
    guest_page.get_by_role("button", name="Unlock").click()
    expect(guest_page.locator("#share-name")).to_have_text("report for guests.txt")
    with guest_page.expect_download() as download_info:
        guest_page.locator("#share-download").click()
    saved = download_info.value.path()
    assert saved is not None
    with open(saved, "rb") as fh:
        assert fh.read() == data

    # The owner revokes it; the guest's next visit finds nothing.
    page.goto(f"{portal.download}/uploads")
    row = page.locator(f'tr[data-id="{record["id"]}"]')
    row.get_by_role("button", name=re.compile("More actions")).click()
    row.get_by_role("button", name="Share…").click()
    expect(dialog.locator("#share-list")).to_contain_text("1 of 2 downloads")
    dialog.locator(".share-revoke").click()
    expect(dialog.locator("#share-none")).to_be_visible()
    expect(row.locator(".shared-badge")).to_have_count(0)
    response = guest_page.goto(link)
    assert response is not None and response.status == 404
