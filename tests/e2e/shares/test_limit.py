"""The download limit: counted atomically, once per client, never for HEAD.

How a resumed download is told apart: the first counted GET of a client sets a signed,
HttpOnly "ticket" cookie scoped to the link's path; ranged GETs that carry it are not counted
again, even once the limit is reached. A full GET is a new download, ticket or not, and a
client without the ticket is a new download, Range or not."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

from tests.e2e.shares.support import SHARE_PASSWORD, Portal, cookie_header
from tests.harness.http import client

DATA = bytes(range(256)) * 64  # 16 KiB
CLIENTS = 20


def limited_link(
    portal: Portal, owner: dict[str, str], name: str, max_downloads: int
) -> tuple[str, str]:
    """A new file of ``DATA`` shared with ``max_downloads``: its id and the link's content URL."""
    file_id = portal.put(owner, name, DATA)
    token = portal.share(owner, file_id, max_downloads=max_downloads)["token"]
    return file_id, portal.content_url(token)


def downloads(portal: Portal, owner: dict[str, str], file_id: str) -> int:
    (share,) = portal.list_shares(owner, file_id).json()["items"]
    return int(share["downloads"])


def test_limit_holds_under_concurrency(portal: Portal, owner: dict[str, str]) -> None:
    file_id, url = limited_link(portal, owner, "race.bin", 3)
    clients = [client() for _ in range(CLIENTS)]
    try:
        # Connect everyone first, so the GETs below really arrive together.
        for c in clients:
            assert c.head(url).status_code == 200
        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(pool.map(lambda c: c.get(url), clients))
    finally:
        for c in clients:
            c.close()
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 3 + [404] * (CLIENTS - 3), statuses
    assert all(a.content == DATA for a in answers if a.status_code == 200)
    assert downloads(portal, owner, file_id) == 3
    with client() as late:
        assert late.get(url).status_code == 404


def test_resumed_download_is_not_counted_twice(portal: Portal, owner: dict[str, str]) -> None:
    file_id = portal.put(owner, "resume.bin", DATA)
    token = portal.share(owner, file_id, max_downloads=2)["token"]
    url = portal.content_url(token)
    with client(cookies=True) as browser:
        first = browser.get(url, headers={"Range": "bytes=0-1023"})
        assert first.status_code == 206 and first.content == DATA[:1024]
        ticket = first.headers["set-cookie"]
        assert "httponly" in ticket.lower() and f"Path=/s/{token};" in ticket
        assert downloads(portal, owner, file_id) == 1
        # The rest of it, in pieces: still one download.
        rest = browser.get(url, headers={"Range": "bytes=1024-"})
        assert rest.status_code == 206 and first.content + rest.content == DATA
        assert downloads(portal, owner, file_id) == 1

        # Someone else takes the last download; the link is used up for everyone new ...
        with client() as other:
            assert other.get(url).status_code == 200
            assert other.get(url).status_code == 404
            assert other.get(url, headers={"Range": "bytes=0-9"}).status_code == 404
        assert downloads(portal, owner, file_id) == 2
        # ... but the browser with a ticket can still finish its download with Range ...
        again = browser.get(url, headers={"Range": "bytes=100-199"})
        assert again.status_code == 206 and again.content == DATA[100:200]
        assert browser.head(url).status_code == 200
        # ... while all of it again is a new download, and none is left.
        assert browser.get(url).status_code == 404
    assert downloads(portal, owner, file_id) == 2


def test_a_full_get_with_the_ticket_counts_again(portal: Portal, owner: dict[str, str]) -> None:
    """A one-download link cannot be fetched again and again from the same browser."""
    file_id, url = limited_link(portal, owner, "once.bin", 2)
    with client(cookies=True) as browser:
        assert browser.get(url).content == DATA
        assert browser.get(url).content == DATA
        assert downloads(portal, owner, file_id) == 2
        assert browser.get(url).status_code == 404
        resumed = browser.get(url, headers={"Range": "bytes=10-19"})
        assert resumed.status_code == 206 and resumed.content == DATA[10:20]
    assert downloads(portal, owner, file_id) == 2


def test_head_is_never_counted(portal: Portal, owner: dict[str, str]) -> None:
    file_id, url = limited_link(portal, owner, "head.bin", 1)
    with client() as http:
        for _ in range(5):
            head = http.head(url)
            assert head.status_code == 200 and head.headers["content-length"] == str(len(DATA))
            assert "set-cookie" not in head.headers
            assert http.head(url, headers={"Range": "bytes=0-9"}).status_code == 206
        assert downloads(portal, owner, file_id) == 0
        assert http.get(url).content == DATA
        assert downloads(portal, owner, file_id) == 1
        assert http.head(url).status_code == 404


def test_range_without_ticket_counts(portal: Portal, owner: dict[str, str]) -> None:
    file_id, url = limited_link(portal, owner, "range.bin", 2)
    with client() as http:  # keeps no cookies: every request is a new client
        for _ in range(2):
            part = http.get(url, headers={"Range": "bytes=0-9"})
            assert part.status_code == 206 and part.content == DATA[:10]
        assert http.get(url, headers={"Range": "bytes=0-9"}).status_code == 404
    assert downloads(portal, owner, file_id) == 2


def test_an_unsatisfiable_range_is_not_a_download(portal: Portal, owner: dict[str, str]) -> None:
    """A 416 sends no bytes (e.g. ``curl -C -`` on a file it already has): not counted."""
    file_id, url = limited_link(portal, owner, "416.bin", 1)
    with client() as http:
        for _ in range(3):
            missed = http.get(url, headers={"Range": f"bytes={len(DATA)}-"})
            assert missed.status_code == 416
            assert missed.headers["content-range"] == f"bytes */{len(DATA)}"
            assert "set-cookie" not in missed.headers
        assert downloads(portal, owner, file_id) == 0
        assert http.get(url).content == DATA
        assert http.get(url, headers={"Range": f"bytes={len(DATA)}-"}).status_code == 404
    assert downloads(portal, owner, file_id) == 1


def test_a_revalidation_answered_304_is_not_a_download(
    portal: Portal, owner: dict[str, str]
) -> None:
    """A cache revalidating its copy (no ticket: a script, or a browser past the ticket's
    day) gets a 304 and no bytes: not counted."""
    file_id, url = limited_link(portal, owner, "304.bin", 1)
    etag = f'"{hashlib.sha256(DATA).hexdigest()}"'
    with client() as http:
        for match in (etag, "*", f'W/{etag}, "other"'):
            fresh = http.get(url, headers={"If-None-Match": match})
            assert fresh.status_code == 304 and fresh.content == b""
            assert "set-cookie" not in fresh.headers
        assert downloads(portal, owner, file_id) == 0
        assert http.get(url).content == DATA
        assert http.get(url, headers={"If-None-Match": etag}).status_code == 404
    assert downloads(portal, owner, file_id) == 1


def test_a_failed_precondition_is_not_a_download(portal: Portal, owner: dict[str, str]) -> None:
    file_id, url = limited_link(portal, owner, "412.bin", 1)
    with client() as http:
        refused = http.get(url, headers={"If-Match": '"' + "0" * 64 + '"'})
        assert refused.status_code == 412 and DATA[:10] not in refused.content
        assert downloads(portal, owner, file_id) == 0
        etag = f'"{hashlib.sha256(DATA).hexdigest()}"'
        assert http.get(url, headers={"If-Match": etag}).content == DATA
    assert downloads(portal, owner, file_id) == 1


def test_a_ticket_is_only_for_its_own_link(portal: Portal, owner: dict[str, str]) -> None:
    file_id = portal.put(owner, "tickets.bin", DATA)
    one = portal.share(owner, file_id, max_downloads=1)
    two = portal.share(owner, file_id, max_downloads=1)
    with client(cookies=True) as browser:
        assert browser.get(portal.content_url(one["token"])).status_code == 200
        (ticket,) = list(browser.cookies.jar)
    with client() as other:
        # Used for the other link (the cookie renamed to fit it): counted, and used up.
        renamed = {ticket.name.replace(one["id"][:12], two["id"][:12]): str(ticket.value)}
        url = portal.content_url(two["token"])
        assert other.get(url, headers=cookie_header(renamed)).status_code == 200
        assert other.get(url, headers=cookie_header(renamed)).status_code == 404


def test_password_and_limit_together(portal: Portal, owner: dict[str, str]) -> None:
    """Unlocking is not a download; a ticket does not stand in for the password."""
    file_id = portal.put(owner, "both.bin", DATA)
    made = portal.share(owner, file_id, password=SHARE_PASSWORD, max_downloads=1)
    url = portal.content_url(made["token"])
    with client(cookies=True) as browser:
        unlocked = browser.post(portal.page_url(made["token"]), data={"password": SHARE_PASSWORD})
        assert unlocked.status_code == 303
        assert browser.get(portal.page_url(made["token"])).status_code == 200
        assert downloads(portal, owner, file_id) == 0
        assert browser.get(url).content == DATA
        assert downloads(portal, owner, file_id) == 1
        tickets = {c.name: str(c.value) for c in browser.cookies.jar if "ticket" in c.name}
        assert len(tickets) == 1
        assert browser.get(url, headers={"Range": "bytes=0-9"}).status_code == 206
    with client() as thief:
        assert thief.get(url, headers=cookie_header(tickets)).status_code == 404
