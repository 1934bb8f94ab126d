"""The Trash page in Chromium, both shapes: what was deleted is listed with its days left,
Restore puts it back, Delete forever and Empty trash purge (after a confirmation), and the
page passes axe-core's WCAG 2.2 AA rules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.e2e.folders.support import Tree
from tests.e2e.ui.support import CHROMIUM, CHROMIUM_ARGS, Watch, axe_violations, login
from tests.harness.http import PASSWORD, bearer, unique


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_restore_delete_forever_and_empty_from_the_trash_page(
    portal: Tree, browser: Browser
) -> None:
    name = unique("page")
    portal.add_user(name, PASSWORD)
    who = bearer(portal.login(name, PASSWORD))
    kept = portal.put_ok(who, "notes/keep me.txt", b"keep")
    doomed = portal.put_ok(who, "old/doomed.txt", b"doomed")
    other = portal.put_ok(who, "other.txt", b"other")
    for file_id in (kept["id"], other["id"]):
        deleted = portal.http.delete(f"{portal.metadata}/api/files/{file_id}", headers=who)
        assert deleted.status_code == 204
    old = portal.resolve(who, "/old").json()
    assert portal.rmdir(who, old["id"]).status_code == 204

    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    context.set_default_timeout(15_000)
    watch = Watch()
    watch.attach(context)
    try:
        page = context.new_page()
        login(page, portal.upload, name, PASSWORD)
        page.goto(f"{portal.metadata}/trash")
        rows = page.locator("#trash-table tbody tr")
        expect(rows).to_have_count(3)
        expect(page.locator("#trash-table")).to_contain_text("30 days")
        assert axe_violations(page) == []

        page.get_by_role("button", name="Restore keep me.txt").click()
        expect(rows).to_have_count(2)
        expect(page.locator("#toasts")).to_contain_text("Restored keep me.txt to /notes")
        assert portal.content(who, kept["id"]).content == b"keep"

        page.get_by_role("button", name="Delete old forever").click()
        page.locator("#confirm-ok").click()
        expect(rows).to_have_count(1)
        assert portal.content(who, doomed["id"]).status_code == 404

        page.get_by_role("button", name="Empty trash").click()
        page.locator("#confirm-ok").click()
        expect(page.locator("#trash-empty")).to_be_visible()
        listed = portal.http.get(f"{portal.metadata}/api/trash", headers=who).json()
        assert listed["items"] == []
    finally:
        context.close()
    watch.check()
