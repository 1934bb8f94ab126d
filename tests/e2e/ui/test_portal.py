"""The web UI in a real browser: log in, upload (picker and drop), the list and its actions,
preview, users and tokens, and screenshots of the main page."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.e2e.ui.conftest import NewContext
from tests.e2e.ui.support import (
    ADMIN_PASSWORD,
    ARTIFACTS,
    MIB,
    PASSWORD,
    add_user,
    bearer,
    drop_files,
    list_files,
    login,
    png,
    put_file,
    write_files,
)
from tests.e2e.ui.throttle import throttled
from tests.harness.portal import Portal

NOTES = "name,size\nalpha,1\nbeta,2\n"


def row(page: Page, name: str) -> Locator:
    return page.locator("#file-table tbody tr", has_text=name)


def names_shown(page: Page) -> list[str]:
    return page.locator("#file-table tbody .file-name").all_inner_texts()


def row_action(page: Page, name: str, action: str) -> None:
    """Choose ``action`` in the row's "More actions" menu."""
    row(page, name).get_by_role("button", name=f"More actions for {name}").click()
    row(page, name).locator(".dropdown-menu.show").get_by_role("button", name=action).click()


def test_upload_and_manage_files(
    portal: Portal, admin_token: str, new_context: NewContext, tmp_path: Path
) -> None:
    username = add_user(portal, "dana")
    picture = png()
    text = b"hello from filebay\n" * 20
    paths = write_files(tmp_path / "pick", {"alpha.txt": text, "picture.png": picture})
    context, _watch = new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    login(page, portal.upload, username, PASSWORD)
    expect(page.locator("#admin-link")).to_have_count(0)

    # Two files through the picker, one dropped on the page.
    page.locator("#file-input").set_input_files(paths)
    assert drop_files(page, "#fm", [("notes.csv", "text/csv", NOTES)])
    cards = page.locator("#upload-list .upload-card")
    expect(cards).to_have_count(3)
    for name in ("alpha.txt", "picture.png", "notes.csv"):
        card = cards.filter(has_text=name)
        expect(card).to_have_attribute("data-state", "done")
        expect(card.locator("[role=progressbar]")).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#usage")).to_contain_text("stored")
    # The file manager shows them without a reload (by name, the folder's default sort).
    expect(page.locator("#entries .fm-entry")).to_have_count(3)
    assert page.locator("#entries .fm-name").all_inner_texts() == [
        "alpha.txt",
        "notes.csv",
        "picture.png",
    ]

    # The flat list of every file, newest first.
    page.goto(f"{portal.download}/uploads")
    expect(page.locator("#file-table tbody tr")).to_have_count(3)
    token = portal.login(username)
    assert names_shown(page) == [f["name"] for f in list_files(portal, token)]
    assert sorted(names_shown(page)) == ["alpha.txt", "notes.csv", "picture.png"]
    expect(page.locator(".owner-cell")).to_have_count(0)  # owners are for admins
    uploaded = row(page, "alpha.txt").locator(".d-md-table-cell time")
    expect(uploaded).to_have_text("just now")
    assert "Z" in (uploaded.get_attribute("datetime") or "")
    assert uploaded.get_attribute("title")  # the exact time, on hover

    # Download: the same bytes.
    with page.expect_download() as download:
        row(page, "alpha.txt").get_by_role("link", name="Download alpha.txt").click()
    assert Path(download.value.path()).read_bytes() == text
    assert download.value.suggested_filename == "alpha.txt"

    # Copy link: the absolute content URL.
    row_action(page, "alpha.txt", "Copy link")
    expect(page.locator("#toasts")).to_contain_text("link copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    record_id = row(page, "alpha.txt").get_attribute("data-id")
    assert copied == f"{portal.upload}/api/files/{record_id}/content"

    # Rename inline: Enter saves; the row and the API agree.
    row_action(page, "alpha.txt", "Rename")
    field = page.get_by_label("New name for alpha.txt")
    expect(field).to_be_focused()
    field.fill("renamed notes.txt")
    field.press("Enter")
    expect(row(page, "renamed notes.txt")).to_have_count(1)
    expect(row(page, "alpha.txt")).to_have_count(0)
    names = {f["name"] for f in list_files(portal, token)}
    assert "renamed notes.txt" in names and "alpha.txt" not in names
    # Escape cancels a rename.
    row_action(page, "notes.csv", "Rename")
    page.get_by_label("New name for notes.csv").press("Escape")
    expect(row(page, "notes.csv").locator(".file-name")).to_have_text("notes.csv")

    # Search (debounced, server-side q) and its empty state.
    with page.expect_request(re.compile(r"/api/files\?.*q=pict")):
        page.get_by_label("Search by name").fill("pict")
    expect(page.locator("#file-table tbody tr")).to_have_count(1)
    assert names_shown(page) == ["picture.png"]
    expect(page).to_have_url(re.compile(r"q=pict"))
    page.get_by_label("Search by name").fill("no such file")
    expect(page.locator("#empty-state")).to_be_visible()
    expect(page.locator("#empty-title")).to_have_text("No file matches “no such file”.")
    page.get_by_label("Search by name").fill("")
    expect(page.locator("#file-table tbody tr")).to_have_count(3)

    # Sort by the column headers.
    name_header = page.locator("th[data-sort-column=name]")
    name_header.get_by_role("link").click()
    expect(name_header).to_have_attribute("aria-sort", "ascending")
    expect(page.locator("#file-table tbody .file-name").first).to_have_text("notes.csv")
    assert names_shown(page) == ["notes.csv", "picture.png", "renamed notes.txt"]
    name_header.get_by_role("link").click()
    expect(name_header).to_have_attribute("aria-sort", "descending")
    expect(page.locator("#file-table tbody .file-name").first).to_have_text("renamed notes.txt")
    page.locator("th[data-sort-column=size]").get_by_role("link").click()
    expect(page.locator("th[data-sort-column=size]")).to_have_attribute("aria-sort", "descending")
    expect(page.locator("#file-table tbody .file-name").first).to_have_text("picture.png")
    expect(page.get_by_label("Sort order")).to_have_value("-size")

    # Preview: the image decodes; text is shown as text; Escape closes.
    row(page, "picture.png").get_by_role("button", name="Preview picture.png").click()
    modal = page.locator("#preview-modal")
    expect(modal).to_be_visible()
    expect(modal.locator("#preview-title")).to_have_text("picture.png")
    image = modal.locator("img.preview-image")
    expect(image).to_have_attribute("src", re.compile(r"/content\?inline=1$"))
    page.wait_for_function("() => document.querySelector('#preview-body img')?.naturalWidth === 96")
    # Focus moved into the dialog (keyboard users start there); Escape closes it.
    page.wait_for_function(
        "() => document.getElementById('preview-modal').contains(document.activeElement)"
    )
    page.keyboard.press("Escape")
    expect(modal).to_be_hidden()
    expect(modal.locator("img")).to_have_count(0)
    row(page, "renamed notes.txt").get_by_role("button", name="Preview renamed notes.txt").click()
    expect(modal.locator("pre.preview-text")).to_contain_text("hello from filebay")
    modal.get_by_role("button", name="Close preview").click()
    expect(modal).to_be_hidden()

    # Delete one (confirmed in a dialog), then two selected at once; then the empty state.
    row_action(page, "notes.csv", "Delete")
    dialog = page.locator("#confirm-modal")
    expect(dialog).to_contain_text("notes.csv")
    dialog.get_by_role("button", name="Cancel").click()
    expect(row(page, "notes.csv")).to_have_count(1)
    row_action(page, "notes.csv", "Delete")
    dialog.locator("#confirm-ok").click()
    expect(row(page, "notes.csv")).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text("Deleted “notes.csv”")
    page.get_by_label("Select picture.png").check()
    page.get_by_label("Select renamed notes.txt").check()
    expect(page.locator("#select-all")).to_be_checked()
    selected = page.get_by_role("button", name="Delete selected (2)")
    selected.click()
    expect(dialog).to_contain_text("These 2 files will be deleted")
    dialog.get_by_role("button", name="Delete 2 files").click()
    expect(page.locator("#empty-state")).to_be_visible()
    expect(page.locator("#empty-title")).to_have_text("No files yet.")
    assert list_files(portal, token) == []

    # The same list, as the /uploads page, after a reload: still empty, and sorted as asked.
    page.goto(f"{portal.download}/uploads?sort=name")
    expect(page.locator("#empty-state")).to_be_visible()
    expect(page.get_by_label("Sort order")).to_have_value("name")


def test_relative_times_stay_current(portal: Portal, new_context: NewContext) -> None:
    """ "just now" does not stay "just now" while the page stays open."""
    username = add_user(portal, "clock")
    put_file(portal, portal.login(username), "ticking.txt", b"tick")
    context, _watch = new_context()
    page = context.new_page()
    page.clock.install()  # real time, which the test can then move on
    login(page, portal.upload, username, PASSWORD)
    home = page.locator('#entries .fm-entry[data-name="ticking.txt"] .fm-col-time time')
    expect(home).to_have_text("just now")
    page.goto(f"{portal.download}/uploads")
    listed = row(page, "ticking.txt").locator(".d-md-table-cell time")
    expect(listed).to_have_text("just now")
    page.clock.run_for("05:10")
    expect(listed).to_have_text("5 minutes ago")
    assert listed.get_attribute("title")


def test_load_more_pages_through_the_list(
    portal: Portal, admin_token: str, new_context: NewContext
) -> None:
    username = add_user(portal, "pager")
    token = portal.login(username)
    for i in range(5):
        put_file(portal, token, f"page-{i}.txt", b"x" * (i + 1))
    context, _watch = new_context()
    page = context.new_page()
    login(page, portal.upload, username, PASSWORD)
    page.goto(f"{portal.download}/uploads?limit=2&sort=name")
    expect(page.locator("#file-table tbody tr")).to_have_count(2)
    expect(page.locator("#next-page")).to_be_hidden()
    more = page.get_by_role("button", name="Load more")
    more.click()
    expect(page.locator("#file-table tbody tr")).to_have_count(4)
    more.click()
    expect(page.locator("#file-table tbody tr")).to_have_count(5)
    expect(more).to_be_hidden()
    assert names_shown(page) == [f"page-{i}.txt" for i in range(5)]
    expect(page.locator("#list-status")).to_have_text("5 files shown.")
    # No owner column for a user.
    expect(page.locator(".owner-cell")).to_have_count(0)


def test_upload_errors_are_explained(
    portal: Portal, admin_token: str, new_context: NewContext, tmp_path: Path
) -> None:
    username = add_user(portal, "quota", quota_bytes=1000)
    paths = write_files(tmp_path, {"small.txt": b"s" * 100, "too-big.bin": b"b" * 5000})
    context, watch = new_context()
    watch.allow(r"status of 413")
    page = context.new_page()
    login(page, portal.upload, username, PASSWORD)
    page.locator("#file-input").set_input_files(paths)
    cards = page.locator("#upload-list .upload-card")
    expect(cards.filter(has_text="small.txt")).to_have_attribute("data-state", "done")
    failed = cards.filter(has_text="too-big.bin")
    expect(failed).to_have_attribute("data-state", "error")
    # It says what is left, offers no Retry that cannot succeed, and is announced at once.
    expect(failed.locator(".upload-status")).to_have_text(
        re.compile(
            r"^Not enough space: 4\.9 KiB does not fit in what is left of your quota "
            r"\((1000|900) B\)"
        )
    )
    expect(failed.get_by_role("button", name="Retry upload of too-big.bin")).to_be_hidden()
    expect(page.locator("#upload-alerts")).to_contain_text("too-big.bin failed: Not enough space")
    expect(page.locator("#usage")).to_have_text("100 B of your 1000 B quota used.")
    # The page says what fits now: the quota left, not the server's size limit.
    expect(page.locator("#room")).to_have_text("900 B")
    page.reload()
    expect(page.locator("#drop-hint")).to_contain_text(
        "up to 900 B each (what is left of your quota)"
    )


def test_a_dismissed_upload_leaves_the_list(
    portal: Portal, admin_token: str, new_context: NewContext, tmp_path: Path
) -> None:
    username = add_user(portal, "dismiss")
    paths = write_files(tmp_path, {"one.txt": b"1"})
    context, _watch = new_context()
    page = context.new_page()
    login(page, portal.upload, username, PASSWORD)
    page.locator("#file-input").set_input_files(paths)
    cards = page.locator("#upload-list .upload-card")
    expect(cards).to_have_attribute("data-state", "done")
    # All done: the panel folds to its header (the files are no longer covered); it opens again.
    toggle = page.get_by_role("button", name="Hide or show uploads")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#upload-summary")).to_have_text("(1 of 1 done)")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    cards.get_by_role("button", name="Remove one.txt from this list").click()
    expect(cards).to_have_count(0)


def test_a_name_with_quotes_keeps_them(
    portal: Portal, admin_token: str, new_context: NewContext, tmp_path: Path
) -> None:
    """Chromium sends a small file's name in the form with '"' written as %22 (the HTML
    standard's form encoding): the stored name is the file's own."""
    username = add_user(portal, "quotes")
    name = 'say "cheese" 100%.txt'
    paths = write_files(tmp_path, {name: b"cheese"})
    context, _watch = new_context()
    page = context.new_page()
    login(page, portal.upload, username, PASSWORD)
    page.locator("#file-input").set_input_files(paths)
    expect(page.locator("#upload-list .upload-card")).to_have_attribute("data-state", "done")
    token = portal.login(username)
    assert [f["name"] for f in list_files(portal, token)] == [name]


def test_a_new_user_logs_in_and_sees_an_empty_list(portal: Portal, new_context: NewContext) -> None:
    admin_context, _ = new_context()
    admin = admin_context.new_page()
    login(admin, portal.upload, "admin", ADMIN_PASSWORD)
    admin.locator("#user-menu").click()
    admin.get_by_role("link", name="Users").click()
    expect(admin).to_have_url(f"{portal.auth}/admin")
    admin.get_by_label("Username").fill("newcomer")
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Add", exact=True).click()
    expect(admin.locator("#user-table tr[data-username=newcomer]")).to_have_count(1)

    context, _ = new_context()
    page = context.new_page()
    login(page, portal.upload, "newcomer", PASSWORD)
    expect(page.locator("#empty-state")).to_be_visible()
    expect(page.locator("#empty-state")).to_contain_text("This folder is empty.")
    expect(page.locator("#fm-status")).to_have_text("Home is empty.")
    page.locator("#user-menu").click()
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    page.keyboard.press("Escape")

    # What the newcomer uploads, the admin sees with its owner.
    drop_files(page, "#fm", [("first-day.txt", "text/plain", "hello")])
    expect(page.locator("#entries .fm-entry", has_text="first-day.txt")).to_have_count(1)
    # An admin's own list is their own files; "All users" shows everyone's, with owners.
    admin.goto(f"{portal.download}/uploads?q=first-day")
    expect(admin.locator("#empty-state")).to_be_visible()
    expect(admin.get_by_role("columnheader", name="Owner")).to_be_hidden()
    admin.get_by_role("switch", name="All users").check()
    expect(row(admin, "first-day.txt").locator(".owner-cell")).to_have_text("newcomer")
    expect(admin.get_by_role("columnheader", name="Owner")).to_be_visible()
    expect(admin).to_have_url(re.compile(r"owner=all"))
    admin.reload()
    expect(admin.get_by_role("switch", name="All users")).to_be_checked()
    expect(row(admin, "first-day.txt")).to_have_count(1)

    # Tokens: create (shown once, and it works), then revoke.
    page.locator("#user-menu").click()
    page.get_by_role("link", name="API tokens").click()
    expect(page).to_have_url(f"{portal.auth}/tokens")
    expect(page.locator("#no-tokens")).to_be_visible()
    page.get_by_label("Name").fill("laptop script")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_be_visible()
    expect(page.locator("#new-token-value")).to_be_focused()
    secret = page.locator("#new-token-value").input_value()
    assert len(secret) > 20
    me = httpx.get(f"{portal.auth}/api/me", headers=bearer(secret))
    assert me.status_code == 200 and me.json()["username"] == "newcomer"
    expect(page.locator("#token-table tbody tr", has_text="laptop script")).to_have_count(1)
    page.reload()
    expect(page.locator("#new-token")).to_be_hidden()
    page.get_by_role("button", name="Revoke laptop script").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#no-tokens")).to_be_visible()

    # Log out: back to the login page; the main page asks for a login again.
    page.locator("#user-menu").click()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto(f"{portal.upload}/")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_keyboard_and_labels(portal: Portal, admin_token: str, new_context: NewContext) -> None:
    username = add_user(portal, "keys")
    token = portal.login(username)
    put_file(portal, token, "keyboard.txt", b"typed")
    context, _ = new_context()
    page = context.new_page()
    login(page, portal.upload, username, PASSWORD)
    # The first Tab reaches the skip link; the real file inputs are in the tab order,
    # named by their labels.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "file-input":
            break
    expect(page.get_by_label("Upload files")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Upload folder")).to_be_focused()
    entry = page.locator("#entries .fm-entry", has_text="keyboard.txt")
    expect(entry).to_have_count(1)
    # Rename from the keyboard alone: the entry's menu, then the name dialog.
    entry.get_by_role("button", name="Actions for keyboard.txt").focus()
    page.keyboard.press("Enter")
    for _ in range(3):  # Open, Download, Rename…
        page.keyboard.press("ArrowDown")
    expect(page.get_by_role("button", name="Rename…")).to_be_focused()
    page.keyboard.press("Enter")
    field = page.get_by_label("Name", exact=True)
    expect(field).to_be_focused()
    page.keyboard.type("typed")
    page.keyboard.press("Enter")
    expect(page.locator("#entries .fm-entry", has_text="typed.txt")).to_have_count(1)
    # Every control has a name a screen reader can say.
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('button, a[href], input, select')]
            .filter((el) => el.offsetParent !== null || el.type === 'file')
            .filter((el) => {
                const label = el.id && document.querySelector(`label[for="${el.id}"]`);
                const text = (el.getAttribute('aria-label') || el.textContent || '').trim();
                return !text && !label && !el.getAttribute('aria-labelledby');
            })
            .map((el) => el.outerHTML.slice(0, 120))"""
    )
    assert unnamed == []
    # Upload news is announced: progress politely, failures at once.
    assert page.locator("#upload-announcer").get_attribute("aria-live") == "polite"
    assert page.locator("#upload-alerts").get_attribute("aria-live") == "assertive"


def test_screenshots_and_cancel_of_a_large_upload(
    portal: Portal,
    admin_token: str,
    new_context: NewContext,
    tmp_path: Path,
    big_file: tuple[Path, str],
) -> None:
    """The main page with uploads done and one under way, light and dark, desktop and phone,
    into artifacts/ (the README shows one); then that upload is canceled."""
    username = add_user(portal, "alice", exact=True)
    token = portal.login(username)
    for name, size in (("quarterly-report.pdf", 182_000), ("holiday.mp4", 3_400_000)):
        put_file(portal, token, name, b"\0" * size)
    paths = write_files(
        tmp_path,
        {
            "team-photo.png": png(320, 200),
            "meeting-notes.txt": b"notes\n" * 500,
            "data.csv": b"a,b\n" * 9000,
        },
    )
    ARTIFACTS.mkdir(exist_ok=True)
    # Slow enough that the large upload is still going while the pictures are taken.
    with throttled(portal.process("all").port, 2 * MIB) as proxy:
        # Reduced motion: no transitions or highlights caught half-way in a picture.
        context, watch = new_context(reduced_motion="reduce")
        watch.allow(r"ERR_ABORTED|ERR_CONNECTION")  # the canceled upload's request
        page = context.new_page()
        login(page, proxy.url, username, PASSWORD)
        page.locator("#file-input").set_input_files(paths)
        expect(page.locator(".upload-card[data-state=done]")).to_have_count(3)
        page.locator("#file-input").set_input_files(str(big_file[0]))
        big = page.locator(".upload-card", has_text="big-video.bin")
        expect(big.locator(".upload-status")).to_contain_text(re.compile(r"MiB/s · \d+ s left"))
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
            expect(page.locator("html")).to_have_attribute("data-bs-theme", scheme)
            for device, (width, height) in (("desktop", (1280, 800)), ("phone", (390, 844))):
                page.set_viewport_size({"width": width, "height": height})
                # Nothing sticks out sideways, not even on a phone.
                assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
                page.screenshot(path=str(ARTIFACTS / f"ui-main-{device}-{scheme}.png"))
        assert big.get_attribute("data-state") == "uploading"

        # Cancel: the server forgets the upload (tus termination), and so does the page.
        with page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
            big.get_by_role("button", name="Cancel upload of big-video.bin").click()
        assert deleted.value.status == 204
        expect(big).to_have_attribute("data-state", "canceled")
        expect(big.get_by_role("button", name="Retry upload of big-video.bin")).to_be_visible()
        assert page.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('tus::'))") == []

        page.goto(f"{proxy.url}/uploads")
        expect(page.locator("#file-table tbody tr")).to_have_count(5)
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
            for device, (width, height) in (("desktop", (1280, 800)), ("phone", (390, 844))):
                page.set_viewport_size({"width": width, "height": height})
                expect(page.locator("#file-table")).to_be_visible()
                assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
                page.screenshot(path=str(ARTIFACTS / f"ui-files-{device}-{scheme}.png"))
    for name in ("main", "files"):
        for device in ("desktop", "phone"):
            for scheme in ("light", "dark"):
                assert (ARTIFACTS / f"ui-{name}-{device}-{scheme}.png").stat().st_size > 10_000
    assert [f["name"] for f in list_files(portal, token) if "big" in f["name"]] == []
