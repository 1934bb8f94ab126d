"""The public share page: a safe preview, who shared it, a human expiry, downloads left."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.ui.conftest import NewContext
from tests.e2e.ui.support import add_user, bearer, png, put_file
from tests.harness.portal import Portal


def share(portal: Portal, token: str, file_id: str, **body: object) -> str:
    r = portal.http.post(
        f"{portal.metadata}/api/files/{file_id}/shares", json=body, headers=bearer(token)
    )
    assert r.status_code == 201, r.text
    return f"{portal.download}{r.json()['url']}"


def test_the_share_page_previews_and_says_who_when_and_how_many(
    portal: Portal, new_context: NewContext
) -> None:
    owner = add_user(portal, "sharer")
    token = portal.login(owner)
    picture = put_file(portal, token, "view.png", png(120, 80))
    text = put_file(portal, token, "readme.txt", b"plain words for guests\n")
    page_file = put_file(portal, token, "page.html", b"<script>alert(1)</script>")
    context, _watch = new_context()
    page = context.new_page()

    # An image with a 7-day expiry: the picture, the owner, "in 7 days" with the exact time.
    page.goto(share(portal, token, picture["id"], expires_in=7 * 86400))
    image = page.locator("img.share-preview")
    expect(image).to_have_attribute("src", re.compile(r"/content\?inline=1$"))
    page.wait_for_function(
        "() => document.querySelector('img.share-preview')?.naturalWidth === 120"
    )
    expect(page.locator("#share-owner")).to_have_text(f"Shared by {owner}")
    expiry = page.locator("#share-expiry time")
    expect(expiry).to_have_text("in 7 days")
    assert re.match(r"\d{4}-\d\d-\d\dT", expiry.get_attribute("datetime") or "")
    assert expiry.get_attribute("title")  # the exact time, on hover
    expect(page.locator("#share-left")).to_have_count(0)  # no limit

    # Plain text in a sandboxed frame; no expiry.
    page.goto(share(portal, token, text["id"]))
    frame = page.locator("iframe.share-frame")
    assert frame.get_attribute("sandbox") == ""
    expect(page.frame_locator("iframe.share-frame").locator("body")).to_contain_text(
        "plain words for guests"
    )
    expect(page.locator("#share-expiry")).to_have_text("Link does not expire")

    # A download limit: how many are left, and no preview (it would count as one).
    page.goto(share(portal, token, text["id"], max_downloads=3))
    expect(page.locator("#share-left")).to_have_text("3 downloads left")
    expect(page.locator(".share-preview")).to_have_count(0)
    expect(page.get_by_text("No preview: this link counts downloads")).to_be_visible()

    # HTML is never shown inline: only the download button.
    page.goto(share(portal, token, page_file["id"]))
    expect(page.locator(".share-preview")).to_have_count(0)
    expect(page.get_by_role("link", name="Download")).to_be_visible()
