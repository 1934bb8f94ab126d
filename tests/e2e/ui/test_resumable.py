"""Large files go through tus from the browser and survive a dropped connection and a page
reload. The browser talks to filebay through a throttling proxy, so the upload is still on
the wire when the network goes away."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, Response, expect

from tests.e2e.ui.conftest import NewContext
from tests.e2e.ui.support import BIG_SIZE as SIZE
from tests.e2e.ui.support import MIB, PASSWORD, add_user, list_files, login
from tests.e2e.ui.throttle import ThrottlingProxy, throttled
from tests.harness.portal import Portal

RATE = 8 * MIB  # bytes per second through the proxy: about five seconds for the file


@pytest.fixture
def proxy(portal: Portal) -> Iterator[ThrottlingProxy]:
    with throttled(portal.process("all").port, RATE) as proxy:
        yield proxy


class TusLog:
    """The tus requests a page made, and the answers it got."""

    def __init__(self, page: Page) -> None:
        self.requests: list[Request] = []
        self.answers: list[tuple[str, int, int | None]] = []  # method, status, Upload-Offset
        page.on("request", self._on_request)
        page.on("response", self._on_response)

    def _on_request(self, request: Request) -> None:
        if "/api/tus/" in request.url:
            self.requests.append(request)

    def _on_response(self, response: Response) -> None:
        request = response.request
        if "/api/tus/" in request.url:
            offset = request.headers.get("upload-offset")
            self.answers.append(
                (request.method, response.status, int(offset) if offset is not None else None)
            )

    def methods(self) -> list[str]:
        return [r.method for r in self.requests]

    def stored_patches(self) -> list[int]:
        """The offsets of the PATCH requests the server took (204)."""
        return [o for m, s, o in self.answers if m == "PATCH" and s == 204 and o is not None]


def progress(page: Page) -> int:
    value = page.locator("#upload-list .upload-card").first.get_by_role("progressbar")
    return int(value.get_attribute("aria-valuenow") or 0)


def wait_for_progress(page: Page, percent: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while progress(page) < percent:
        assert time.monotonic() < deadline, f"the upload never reached {percent}%"
        page.wait_for_timeout(100)


def test_large_upload_survives_a_dropped_connection(
    portal: Portal,
    admin_token: str,
    new_context: NewContext,
    proxy: ThrottlingProxy,
    big_file: tuple[Path, str],
) -> None:
    path, sha256 = big_file
    username = add_user(portal, "offline")
    context, watch = new_context()
    # What a dropped connection shows in the console: failed requests, and a 423 while the
    # server still holds the upload for the request that was cut.
    watch.allow(r"ERR_INTERNET_DISCONNECTED|ERR_CONNECTION|ERR_EMPTY_RESPONSE|status of 423")
    page = context.new_page()
    log = TusLog(page)
    login(page, proxy.url, username, PASSWORD)

    page.locator("#file-input").set_input_files(str(path))
    card = page.locator("#upload-list .upload-card")
    expect(card).to_contain_text("resumable")
    # Progress with speed and time left while it goes.
    expect(card.locator(".upload-status")).to_contain_text(re.compile(r"MiB/s · \d+ s left"))
    wait_for_progress(page, 10)

    context.set_offline(True)
    proxy.cut()  # the connection goes with the network
    expect(card.locator(".upload-status")).to_contain_text("network is back")
    page.wait_for_timeout(3000)
    assert card.get_attribute("data-state") in ("uploading", "offline")
    context.set_offline(False)

    expect(card).to_have_attribute("data-state", "done", timeout=30_000)
    expect(card.locator("[role=progressbar]")).to_have_attribute("aria-valuenow", "100")
    # Resumed, not started again: one creation, then HEAD to learn the offset.
    assert log.methods().count("POST") == 1, log.methods()
    assert "HEAD" in log.methods()
    files = list_files(portal, portal.login(username))
    assert [(f["name"], f["size"], f["sha256"]) for f in files] == [("big-video.bin", SIZE, sha256)]
    # In the folder on view without a reload.
    expect(page.locator("#entries .fm-entry", has_text="big-video.bin")).to_have_count(1)


def test_large_upload_continues_after_a_page_reload(
    portal: Portal,
    admin_token: str,
    new_context: NewContext,
    proxy: ThrottlingProxy,
    big_file: tuple[Path, str],
) -> None:
    path, sha256 = big_file
    username = add_user(portal, "reload")
    context, watch = new_context()
    watch.allow(r"status of 423")  # the cut request's lock, until the server lets it go
    page = context.new_page()
    log = TusLog(page)
    login(page, proxy.url, username, PASSWORD)

    page.locator("#file-input").set_input_files(str(path))
    wait_for_progress(page, 20)
    page.reload()
    expect(page.locator("#upload-list .upload-card")).to_have_count(0)
    notice = page.locator("#interrupted")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("big-video.bin")

    with page.expect_request(lambda r: r.method == "HEAD" and "/api/tus/" in r.url):
        page.locator("#file-input").set_input_files(str(path))
    card = page.locator("#upload-list .upload-card")
    expect(card).to_have_attribute("data-state", "done", timeout=30_000)
    expect(notice).to_be_hidden()
    assert log.methods().count("POST") == 1, log.methods()
    # Before the reload nothing was stored whole; after it, the server took the rest only.
    assert log.stored_patches(), log.answers
    assert min(log.stored_patches()) > 0, f"started again from 0: {log.answers}"
    files = list_files(portal, portal.login(username))
    assert [(f["name"], f["sha256"]) for f in files] == [("big-video.bin", sha256)]
