"""The same UI in the split shape: the page comes from the upload service and calls the
metadata, download and auth services on their own origins (CORS with the session cookie,
and a page CSP that names them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ui.conftest import NewContext
from tests.e2e.ui.support import ADMIN_PASSWORD, login, png, write_files
from tests.harness.servers import Deployment, assert_no_crashes, running


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Four processes on one SQLite file, each told where the others are for the browser."""
    env = {"FILEBAY_AUTH": "on", "FILEBAY_ADMIN_PASSWORD": ADMIN_PASSWORD}
    data_dir = tmp_path_factory.mktemp("ui-split")
    with running("split", data_dir, env, public_download_url=True) as deployment:
        yield deployment
        assert_no_crashes(deployment)


def test_the_ui_works_across_the_split_services(
    split: Deployment, new_context: NewContext, tmp_path: Path
) -> None:
    picture = png()
    paths = write_files(tmp_path, {"split.png": picture, "split.txt": b"split shape\n"})
    context, _ = new_context()
    page: Page = context.new_page()
    # The UI sends people to the auth service's login page, which sends them back.
    page.goto(f"{split.upload}/")
    expect(page).to_have_url(re.compile(rf"^{split.auth}/login\?next="))
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{split.upload}/")

    # The page may call and show the other services, and run scripts of its own origin only.
    answer = page.reload()
    assert answer is not None
    directives = dict(
        d.strip().split(" ", 1) for d in answer.headers["content-security-policy"].split(";")
    )
    assert directives["script-src"] == "'self'"
    for directive in ("connect-src", "img-src", "media-src", "frame-src"):
        assert split.download in directives[directive]
    assert split.metadata in directives["connect-src"] and split.auth in directives["connect-src"]
    page.locator("#file-input").set_input_files(paths)
    expect(page.locator(".upload-card[data-state=done]")).to_have_count(2)
    expect(page.locator("#usage")).to_contain_text("stored")  # /api/me on the auth service

    # The file manager lists the folder from the metadata service, across origins.
    expect(page.locator("#entries .fm-entry")).to_have_count(2)

    page.goto(f"{split.download}/uploads")
    rows = page.locator("#file-table tbody tr")
    expect(rows).to_have_count(2)
    # The list came from the metadata service, with the session cookie, across origins.
    with page.expect_response(lambda r: r.url.startswith(f"{split.metadata}/api/files?")) as seen:
        page.get_by_label("Search by name").fill("split.png")
    assert seen.value.headers["access-control-allow-origin"] == split.download
    expect(rows).to_have_count(1)

    # Download and preview come from the download service.
    link = rows.first.get_by_role("link", name="Download split.png")
    assert (link.get_attribute("href") or "").startswith(f"{split.download}/api/files/")
    with page.expect_download() as download:
        link.click()
    assert Path(download.value.path()).read_bytes() == picture
    rows.first.get_by_role("button", name="Preview split.png").click()
    page.wait_for_function("() => document.querySelector('#preview-body img')?.naturalWidth === 96")
    page.locator("#preview-modal").get_by_role("button", name="Close preview").click()

    # Rename and delete on the metadata service (CSRF header through the CORS preflight).
    rows.first.get_by_role("button", name="More actions for split.png").click()
    page.locator(".dropdown-menu.show").get_by_role("button", name="Rename").click()
    page.get_by_label("New name for split.png").fill("split-renamed.png")
    page.get_by_label("New name for split.png").press("Enter")
    expect(rows.first.locator(".file-name")).to_have_text("split-renamed.png")
    page.get_by_label("Search by name").fill("")
    expect(rows).to_have_count(2)
    page.get_by_label("Select all shown files").check()
    page.get_by_role("button", name="Delete selected (2)").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#empty-state")).to_be_visible()

    # The header's links lead to the other services; logging out ends the session there.
    page.goto(f"{split.download}/uploads")
    expect(page.locator("#empty-state")).to_be_visible()
    page.locator("#user-menu").click()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(rf"^{split.auth}/login"))
    page.goto(f"{split.upload}/")
    expect(page).to_have_url(re.compile(rf"^{split.auth}/login\?next="))


def test_other_origins_get_no_cors_answer(split: Deployment) -> None:
    preflight = httpx.options(
        f"{split.metadata}/api/files/x",
        headers={
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "x-csrf-token",
        },
    )
    assert "access-control-allow-origin" not in preflight.headers
    ok = httpx.options(
        f"{split.metadata}/api/files/x",
        headers={
            "Origin": split.upload,
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "x-csrf-token",
        },
    )
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == split.upload
    assert ok.headers["access-control-allow-credentials"] == "true"


def test_login_is_kept_in_the_split_shape(split: Deployment, new_context: NewContext) -> None:
    context, _ = new_context()
    page = context.new_page()
    login(page, split.upload, "admin", ADMIN_PASSWORD, landing=f"{split.upload}/")
    page.goto(f"{split.auth}/tokens")
    expect(page.locator("#no-tokens")).to_be_visible()
