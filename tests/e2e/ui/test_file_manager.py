"""The home page as a file manager, in Chromium: a folder uploaded with its structure,
breadcrumbs and the back button, moving by keyboard alone and by dragging, delete with Undo,
the grid's thumbnails."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.e2e.ui.conftest import NewContext
from tests.e2e.ui.support import (
    PASSWORD,
    Watch,
    add_user,
    bearer,
    login,
    png,
    put_file,
    write_files,
)
from tests.harness.portal import Portal
from tests.harness.waiting import wait_until

FOLDER_URL = re.compile(r"/\?folder=[0-9a-f]{32}$")


def entry(page: Page, name: str) -> Locator:
    return page.locator(f'#entries .fm-entry[data-name="{name}"]')


def names(page: Page) -> list[str]:
    return page.locator("#entries .fm-name").all_inner_texts()


def crumbs(page: Page) -> list[str]:
    return page.locator("#crumbs .fm-crumb").all_inner_texts()


def resolve(portal: Portal, token: str, path: str) -> dict[str, Any] | None:
    r = portal.http.get(
        f"{portal.metadata}/api/resolve", params={"path": path}, headers=bearer(token)
    )
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return dict(r.json())


def new_folder(portal: Portal, token: str, name: str, parent: str | None = None) -> str:
    body = {"name": name} if parent is None else {"name": name, "parent_id": parent}
    r = portal.http.post(f"{portal.metadata}/api/folders", json=body, headers=bearer(token))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def user_page(portal: Portal, new_context: NewContext, prefix: str) -> tuple[Page, Watch, str]:
    """A new user logged in on the home page: (page, its watch, the user's bearer token)."""
    username = add_user(portal, prefix)
    context, watch = new_context()
    page = context.new_page()
    login(page, portal.upload, username, PASSWORD)
    return page, watch, portal.login(username)


def test_a_folder_uploads_with_its_structure_and_the_url_names_the_folder(
    portal: Portal, new_context: NewContext, tmp_path: Path
) -> None:
    page, _watch, token = user_page(portal, new_context, "tree")
    trip = tmp_path / "trip"
    write_files(trip, {"notes.txt": b"day one\n"})
    write_files(trip / "day 1", {"beach.png": png(), "plan.txt": b"swim\n"})
    write_files(trip / "day 1" / "evening", {"dinner.txt": b"fish\n"})

    # The folder picker (webkitdirectory): every file lands with its path kept.
    page.locator("#folder-input").set_input_files(str(trip))
    expect(page.locator("#upload-list .upload-card[data-state=done]")).to_have_count(4)
    for path, data in (
        ("/trip/notes.txt", b"day one\n"),
        ("/trip/day 1/plan.txt", b"swim\n"),
        ("/trip/day 1/evening/dinner.txt", b"fish\n"),
    ):
        record = resolve(portal, token, path)
        assert record is not None and record["kind"] == "file", path
        assert record["size"] == len(data)
    assert (resolve(portal, token, "/trip/day 1/beach.png") or {}).get("content_type") == (
        "image/png"
    )
    # The new folder is in view without a reload.
    expect(entry(page, "trip")).to_have_count(1)
    expect(entry(page, "trip")).to_have_attribute("data-kind", "folder")

    # Opening folders: the URL names each one, the breadcrumbs follow, folders come first.
    entry(page, "trip").locator(".fm-name").click()
    expect(page).to_have_url(FOLDER_URL)
    expect(page.locator("#crumbs .fm-crumb")).to_have_text(["Home", "trip"])
    expect(page.locator("#entries .fm-entry")).to_have_count(2)
    assert names(page) == ["day 1", "notes.txt"]
    trip_url = page.url
    entry(page, "day 1").locator(".fm-name").click()
    expect(page.locator("#crumbs .fm-crumb")).to_have_text(["Home", "trip", "day 1"])
    expect(page.locator("#entries .fm-entry")).to_have_count(3)
    assert names(page) == ["evening", "beach.png", "plan.txt"]
    expect(page.locator("#current-crumb")).to_be_focused()

    # Back returns to the parent folder, again to the root; forward goes down again.
    page.go_back()
    expect(page).to_have_url(trip_url)
    expect(page.locator("#crumbs .fm-crumb")).to_have_text(["Home", "trip"])
    expect(entry(page, "day 1")).to_have_count(1)
    page.go_back()
    expect(page).to_have_url(f"{portal.upload}/")
    expect(page.locator("#crumbs .fm-crumb")).to_have_text(["Home"])
    expect(entry(page, "trip")).to_have_count(1)
    page.go_forward()
    expect(page.locator("#crumbs .fm-crumb")).to_have_text(["Home", "trip"])
    # A bookmark of a folder opens that folder; a breadcrumb leads back up.
    page.goto(trip_url)
    expect(page.locator("#crumbs .fm-crumb")).to_have_text(["Home", "trip"])
    page.locator("#crumbs").get_by_role("link", name="Home").click()
    expect(page).to_have_url(f"{portal.upload}/")

    # Files picked while a folder is on view go into that folder.
    page.goto(trip_url)
    expect(entry(page, "notes.txt")).to_have_count(1)
    picked = write_files(tmp_path / "pick", {"later.txt": b"later\n"})
    page.locator("#file-input").set_input_files(picked)
    expect(entry(page, "later.txt")).to_have_count(1)
    assert resolve(portal, token, "/trip/later.txt") is not None


def test_new_folder_rename_and_move_by_keyboard_alone(
    portal: Portal, new_context: NewContext
) -> None:
    page, watch, token = user_page(portal, new_context, "keys")
    watch.allow(r"status of 409 .*/api/folders")  # the name taken, below
    archive = new_folder(portal, token, "archive")
    new_folder(portal, token, "inbox")
    put_file(portal, token, "move-me.txt", b"moving\n")
    page.reload()
    expect(page.locator("#entries .fm-entry")).to_have_count(3)

    # Move to… from the entry's menu, a folder chosen in the dialog: keys only.
    page.get_by_role("button", name="Actions for move-me.txt").focus()
    page.keyboard.press("Enter")
    for _ in range(4):  # Open, Download, Rename…, Move to…
        page.keyboard.press("ArrowDown")
    expect(page.get_by_role("button", name="Move to…")).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.locator("#pick-modal")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Open archive")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog.locator("#pick-crumbs")).to_contain_text("archive")
    expect(dialog.get_by_role("button", name="Move here")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(entry(page, "move-me.txt")).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text("Moved 1 item to archive.")
    assert (resolve(portal, token, "/archive/move-me.txt") or {}).get("folder_id") == archive

    # A new folder from the keyboard: the button, a name, Enter.
    page.get_by_role("button", name="New folder").focus()
    page.keyboard.press("Enter")
    name_field = page.get_by_label("Name", exact=True)
    expect(name_field).to_be_focused()
    page.keyboard.type("projects")
    page.keyboard.press("Enter")
    expect(entry(page, "projects")).to_have_count(1)
    expect(entry(page, "projects").locator(".fm-name")).to_be_focused()
    # A name already taken (after case folding) is refused in the dialog, which stays open.
    page.get_by_role("button", name="New folder").click()
    expect(name_field).to_be_focused()
    page.keyboard.type("Projects")
    page.keyboard.press("Enter")
    expect(page.locator("#name-feedback")).to_have_text(
        "“Projects” is already taken in this folder."
    )
    page.keyboard.press("Escape")
    expect(page.locator("#name-modal")).to_be_hidden()

    # F2 renames the entry in focus.
    entry(page, "projects").locator(".fm-name").focus()
    page.keyboard.press("F2")
    expect(name_field).to_be_focused()
    page.keyboard.type("work")
    page.keyboard.press("Enter")
    expect(entry(page, "work")).to_have_count(1)
    assert resolve(portal, token, "/work") is not None


def test_dragging_entries_onto_a_folder_and_a_breadcrumb_moves_them(
    portal: Portal, new_context: NewContext
) -> None:
    page, _watch, token = user_page(portal, new_context, "drag")
    inbox = new_folder(portal, token, "inbox")
    put_file(portal, token, "one.txt", b"1")
    put_file(portal, token, "two.txt", b"2")
    page.reload()
    expect(page.locator("#entries .fm-entry")).to_have_count(3)
    # Two selected entries dragged together onto a folder.
    page.get_by_label("Select one.txt").check()
    page.get_by_label("Select two.txt").check()
    expect(page.locator("#selection-count")).to_have_text("2 selected")
    entry(page, "one.txt").drag_to(entry(page, "inbox"))
    expect(page.locator("#entries .fm-entry")).to_have_count(1)
    for name in ("one.txt", "two.txt"):
        assert (resolve(portal, token, f"/inbox/{name}") or {}).get("folder_id") == inbox
    # Inside the folder, one dragged back onto the "Home" breadcrumb.
    entry(page, "inbox").locator(".fm-name").click()
    expect(page.locator("#entries .fm-entry")).to_have_count(2)
    entry(page, "two.txt").drag_to(page.locator("#crumbs").get_by_role("link", name="Home"))
    expect(page.locator("#entries .fm-entry")).to_have_count(1)
    assert (resolve(portal, token, "/two.txt") or {}).get("folder_id") is None


def test_delete_can_be_undone_and_is_sent_later_or_when_the_page_is_left(
    portal: Portal, new_context: NewContext
) -> None:
    page, _watch, token = user_page(portal, new_context, "undo")
    folder = new_folder(portal, token, "old stuff")
    put_file(portal, token, "old stuff/inside.txt", b"in")
    for name in ("keep.txt", "gone.txt", "late.txt"):
        put_file(portal, token, name, name.encode())
    page.reload()
    expect(page.locator("#entries .fm-entry")).to_have_count(4)

    # Delete, then Undo: the entry comes back and the server never deleted it.
    entry(page, "keep.txt").get_by_role("button", name="Actions for keep.txt").click()
    page.locator(".dropdown-menu.show").get_by_role("button", name="Delete").click()
    expect(entry(page, "keep.txt")).to_have_count(0)
    toast = page.locator(".undo-toast", has_text="Deleted “keep.txt”.")
    toast.get_by_role("button", name="Undo").click()
    expect(entry(page, "keep.txt")).to_have_count(1)
    page.wait_for_timeout(7000)  # past the Undo window
    assert resolve(portal, token, "/keep.txt") is not None

    # Without Undo, the delete goes out a few seconds later: a file and a folder with content.
    page.get_by_label("Select gone.txt").check()
    page.get_by_label("Select old stuff").check()
    page.get_by_role("button", name="Delete", exact=True).click()
    page.locator("#confirm-ok").click()
    expect(entry(page, "gone.txt")).to_have_count(0)
    expect(entry(page, "old stuff")).to_have_count(0)
    assert resolve(portal, token, "/gone.txt") is not None  # still undoable
    wait_until(lambda: resolve(portal, token, "/gone.txt") is None, 15, "gone.txt deleted")
    wait_until(lambda: resolve(portal, token, "/old stuff") is None, 15, "folder deleted")
    r = portal.http.get(f"{portal.metadata}/api/folders/{folder}", headers=bearer(token))
    assert r.status_code == 404

    # Leaving the page sends what was waiting for its Undo.
    entry(page, "late.txt").get_by_role("button", name="Actions for late.txt").click()
    page.locator(".dropdown-menu.show").get_by_role("button", name="Delete").click()
    expect(entry(page, "late.txt")).to_have_count(0)
    page.goto(f"{portal.download}/uploads")
    wait_until(lambda: resolve(portal, token, "/late.txt") is None, 10, "late.txt deleted")
    assert resolve(portal, token, "/keep.txt") is not None


def test_the_grid_shows_thumbnails_and_icons_where_there_is_none(
    portal: Portal, new_context: NewContext
) -> None:
    username = add_user(portal, "grid")
    token = portal.login(username)
    put_file(portal, token, "photo.png", png(320, 200))
    put_file(portal, token, "broken.png", b"not a picture at all")
    put_file(portal, token, "notes.txt", b"text")
    context, watch = new_context()
    # The broken picture has no thumbnail: its 404 is expected, its icon is shown instead.
    watch.allow(r"status of 404.*thumbnail\?size=256")
    page = context.new_page()
    login(page, portal.upload, username, PASSWORD)
    expect(page.locator("#entries .fm-entry")).to_have_count(3)
    expect(page.locator("#entries img")).to_have_count(0)  # the list has icons only

    page.get_by_text("Grid", exact=True).click()
    expect(page.locator("#entries")).to_have_attribute("data-view", "grid")
    photo = entry(page, "photo.png").locator("img.fm-thumb-img")
    expect(photo).to_have_attribute(
        "src", re.compile(r"/api/files/[0-9a-f]{32}/thumbnail\?size=256$")
    )
    page.wait_for_function(
        """() => {
            const img = document.querySelector('.fm-entry[data-name="photo.png"] img');
            return img && img.complete && img.naturalWidth > 0;
        }"""
    )
    expect(entry(page, "broken.png").locator("img")).to_have_count(0)
    expect(entry(page, "broken.png").locator(".fm-icon")).to_have_count(1)
    expect(entry(page, "notes.txt").locator(".bi-file-earmark-text")).to_have_count(1)
    # The view is remembered.
    page.reload()
    expect(page.locator("#entries")).to_have_attribute("data-view", "grid")
    expect(page.get_by_role("radio", name="Grid")).to_be_checked()
