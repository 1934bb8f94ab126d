"""The public side: the share page, the password form, the content, and every dead link."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import httpx

from tests.e2e.shares.support import SHARE_PASSWORD, Portal, cookie_header
from tests.harness.http import client

DATA = bytes(range(256)) * 40  # 10240 bytes
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x03\x00\x08\xfc\x02\xfe\xa7\x9a\xa0"
    b"\xa0\x00\x00\x00\x00IEND\xaeB`\x82"
)
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
# Security headers every answer with file bytes carries, as on /api/files/{id}/content.
SAFE_HEADERS = ("x-content-type-options", "content-security-policy", "content-disposition", "etag")


def assert_safe_download(response: httpx.Response, name: str) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert name in response.headers["content-disposition"]
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.headers["etag"].startswith('"')
    assert response.headers["accept-ranges"] == "bytes"


def assert_gone(response: httpx.Response, *, html: bool) -> None:
    """The one answer of a link that does not work, whatever the reason: a 404 that gives
    nothing away (a friendly page for a browser, JSON for a program)."""
    assert response.status_code == 404, (response.request.url, response.text[:300])
    if response.request.method == "HEAD":
        return
    if html:
        assert response.headers["content-type"].startswith("text/html")
        assert "<html" in response.text and "404" in response.text
        assert "does not exist" in response.text
    else:
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["code"] == "not_found"


def every_way_in(http: httpx.Client, portal: Portal, token: str) -> list[httpx.Response]:
    """The page and the content by every method a browser or a program might use."""
    page, content = portal.page_url(token), portal.content_url(token)
    return [
        http.get(page, headers=HTML),
        http.get(page),
        http.get(content, headers=HTML),
        http.get(content),
        http.get(content, headers={"Range": "bytes=0-9"}),
        http.get(content, headers={"Range": "bytes=100-"}),
        http.get(content, params={"inline": "1"}),
        http.head(content),
        http.head(content, headers={"Range": "bytes=0-9"}),
    ]


def assert_all_gone(http: httpx.Client, portal: Portal, token: str) -> None:
    for response in every_way_in(http, portal, token):
        html = "text/html" in response.request.headers.get("accept", "")
        assert_gone(response, html=html)


def unlock(portal: Portal, http: httpx.Client, token: str, password: str) -> httpx.Response:
    return http.post(portal.page_url(token), data={"password": password}, headers=HTML)


# --- the page ------------------------------------------------------------------------------


def test_page_shows_name_size_and_download(
    portal: Portal, owner: dict[str, str], http: httpx.Client
) -> None:
    file_id = portal.put(owner, "report <2024>.bin", DATA)
    token = portal.share(owner, file_id)["token"]
    page = http.get(portal.page_url(token), headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    body = page.text
    assert "report &lt;2024&gt;.bin" in body and "<2024>" not in body  # escaped
    assert "10.0 KiB" in body or "10 KiB" in body or "10240" in body
    assert f'href="/s/{token}/content"' in body
    assert 'id="share-download"' in body
    assert "<img" not in body and 'type="password"' not in body


def test_preview_only_for_safe_types(
    portal: Portal, owner: dict[str, str], http: httpx.Client
) -> None:
    image = portal.share(owner, portal.put(owner, "dot.png", PNG))["token"]
    page = http.get(portal.page_url(image), headers=HTML).text
    assert f'src="/s/{image}/content?inline=1"' in page
    inline = http.get(portal.content_url(image), params={"inline": "1"})
    assert inline.status_code == 200 and inline.content == PNG
    assert inline.headers["content-disposition"].startswith("inline;")
    assert inline.headers["x-content-type-options"] == "nosniff"

    for name, data in [
        ("page.html", b"<script>alert(1)</script>"),
        ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>'),
        ("data.xml", b"<a/>"),
    ]:
        token = portal.share(owner, portal.put(owner, name, data))["token"]
        page = http.get(portal.page_url(token), headers=HTML).text
        assert "<img" not in page and "<iframe" not in page and "<object" not in page
        # ?inline=1 cannot make such a type render in a browser either.
        inline = http.get(portal.content_url(token), params={"inline": "1"})
        assert inline.headers["content-disposition"].startswith("attachment;")
        assert "sandbox" in inline.headers["content-security-policy"]


def test_content_with_range_and_safe_headers(
    portal: Portal, owner: dict[str, str], http: httpx.Client
) -> None:
    file_id = portal.put(owner, "ranged.bin", DATA)
    token = portal.share(owner, file_id)["token"]
    full = http.get(portal.content_url(token))
    assert full.status_code == 200 and full.content == DATA
    assert_safe_download(full, "ranged.bin")
    part = http.get(portal.content_url(token), headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == DATA[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(DATA)}"
    assert_safe_download(part, "ranged.bin")
    head = http.head(portal.content_url(token))
    assert head.status_code == 200 and head.headers["content-length"] == str(len(DATA))
    # The same headers as the owner's own download.
    own = http.get(f"{portal.download}/api/files/{file_id}/content", headers=owner)
    assert own.status_code == 200
    for header in SAFE_HEADERS:
        assert full.headers[header] == own.headers[header], header


# --- passwords -----------------------------------------------------------------------------


def test_password_share_fails_closed_without_unlock(
    portal: Portal, owner: dict[str, str], http: httpx.Client
) -> None:
    file_id = portal.put(owner, "locked-name-xyz.bin", DATA)
    made = portal.share(owner, file_id, password=SHARE_PASSWORD)
    token = made["token"]

    page = http.get(portal.page_url(token), headers=HTML)
    assert page.status_code == 200
    assert 'type="password"' in page.text and 'method="post"' in page.text
    assert f'action="/s/{token}"' in page.text
    assert "locked-name-xyz" not in page.text and "share-download" not in page.text
    assert f"/s/{token}/content" not in page.text

    # Not the bytes, not their size, not their name: not by GET, HEAD, Range or inline.
    page_and_content = every_way_in(http, portal, token)
    for response in page_and_content[2:]:
        assert response.status_code == 404, (response.request.method, response.request.headers)
        assert DATA[:10] not in response.content
        assert "locked-name-xyz" not in response.headers.get("content-disposition", "")
    # Forged cookies, or one that unlocked another link, do not unlock it.
    name = f"filebay_unlock_{made['id'][:12]}"
    other = portal.share(owner, portal.put(owner, "other.bin", DATA), password="other-pw")
    with client(cookies=True) as browser:
        assert unlock(portal, browser, other["token"], "other-pw").status_code == 303
        (foreign,) = list(browser.cookies.jar)
    forged = [
        "1",
        "9999999999.deadbeef",
        f"{int(time.time()) + 99}.{'0' * 64}",
        str(foreign.value),
    ]
    for value in forged:
        for cookie_name in (name, foreign.name):
            cookies = cookie_header({cookie_name: value})
            assert http.get(portal.content_url(token), headers=cookies).status_code == 404
            page = http.get(portal.page_url(token), headers={**cookies, **HTML})
            assert "locked-name-xyz" not in page.text


def test_wrong_password_then_right_password(portal: Portal, owner: dict[str, str]) -> None:
    file_id = portal.put(owner, "unlock-me.bin", DATA)
    token = portal.share(owner, file_id, password=SHARE_PASSWORD)["token"]
    with client(cookies=True) as browser:
        wrong = unlock(portal, browser, token, "not the password")
        assert wrong.status_code == 401
        assert wrong.headers["content-type"].startswith("text/html")
        assert "Wrong password" in wrong.text and "unlock-me" not in wrong.text
        assert not list(browser.cookies.jar)

        right = unlock(portal, browser, token, SHARE_PASSWORD)
        assert right.status_code == 303
        assert right.headers["location"].endswith(f"/s/{token}")
        assert SHARE_PASSWORD not in right.headers["location"]
        set_cookie = right.headers["set-cookie"]
        assert re.search(r"(?i)\bhttponly\b", set_cookie)
        assert re.search(rf"(?i)\bpath=/s/{re.escape(token)}(;|$)", set_cookie)
        assert SHARE_PASSWORD not in set_cookie
        (cookie,) = list(browser.cookies.jar)
        assert cookie.path == f"/s/{token}"

        page = browser.get(portal.page_url(token), headers=HTML)
        assert page.status_code == 200 and "unlock-me.bin" in page.text
        assert 'type="password"' not in page.text
        content = browser.get(portal.content_url(token))
        assert content.status_code == 200 and content.content == DATA
        assert_safe_download(content, "unlock-me.bin")
        ranged = browser.get(portal.content_url(token), headers={"Range": "bytes=5-9"})
        assert ranged.status_code == 206 and ranged.content == DATA[5:10]
        assert browser.head(portal.content_url(token)).status_code == 200

        # The cookie is only sent under the link's own path.
        other = portal.share(owner, file_id, password=SHARE_PASSWORD)["token"]
        assert browser.get(portal.content_url(other)).status_code == 404


def test_a_password_form_without_its_password_is_a_400(
    portal: Portal, owner: dict[str, str]
) -> None:
    """A form body, not JSON: 400 like any other bad input (DESIGN §5 keeps 422 for JSON)."""
    token = portal.share(owner, portal.put(owner, "form.bin", DATA), password=SHARE_PASSWORD)
    with client(cookies=True) as browser:
        for form in ({}, {"password": ""}, {"other": "x"}):
            r = browser.post(portal.page_url(token["token"]), data=form)
            assert r.status_code == 400, (form, r.status_code)
            assert r.json()["code"] == "invalid_request"
            assert not list(browser.cookies.jar)


def test_unlock_does_not_survive_a_new_link(portal: Portal, owner: dict[str, str]) -> None:
    """A cookie of a revoked link opens neither it nor a new link for the same file."""
    file_id = portal.put(owner, "recreated.bin", DATA)
    made = portal.share(owner, file_id, password=SHARE_PASSWORD)
    with client(cookies=True) as browser:
        assert unlock(portal, browser, made["token"], SHARE_PASSWORD).status_code == 303
        (cookie,) = list(browser.cookies.jar)
        assert portal.revoke(owner, made["token"]).status_code == 204
        assert browser.get(portal.content_url(made["token"])).status_code == 404
    again = portal.share(owner, file_id, password=SHARE_PASSWORD)
    stolen = cookie_header({cookie.name: str(cookie.value)})
    with client() as http:
        assert http.get(portal.content_url(again["token"]), headers=stolen).status_code == 404


def test_password_attempts_are_rate_limited(portal: Portal, owner: dict[str, str]) -> None:
    file_id = portal.put(owner, "brute.bin", DATA)
    token = portal.share(owner, file_id, password=SHARE_PASSWORD)["token"]
    with client(cookies=True) as browser:
        for attempt in range(10):
            assert unlock(portal, browser, token, f"guess {attempt}").status_code == 401
        for password in ("guess 10", SHARE_PASSWORD):
            limited = unlock(portal, browser, token, password)
            assert limited.status_code == 429, limited.text[:200]
            assert int(limited.headers["retry-after"]) > 0
        assert not list(browser.cookies.jar)
        assert browser.get(portal.content_url(token)).status_code == 404
    # Other links are not affected.
    other = portal.share(owner, file_id, password=SHARE_PASSWORD)["token"]
    with client(cookies=True) as browser:
        assert unlock(portal, browser, other, SHARE_PASSWORD).status_code == 303


def test_no_password_in_urls_or_logs(portal: Portal, owner: dict[str, str]) -> None:
    offsets = portal.log_offsets()
    file_id = portal.put(owner, "logged.bin", DATA)
    made = portal.share(owner, file_id, password=SHARE_PASSWORD, max_downloads=5)
    assert SHARE_PASSWORD not in made["url"]
    with client(cookies=True) as browser:
        page = browser.get(portal.page_url(made["token"]), headers=HTML)
        # The form posts the password in the body, never in a query string.
        form = re.search(r"<form[^>]*>", page.text)
        assert form is not None
        assert 'method="post"' in form.group(0) and "?" not in form.group(0)
        assert unlock(portal, browser, made["token"], "wrong " + SHARE_PASSWORD).status_code == 401
        right = unlock(portal, browser, made["token"], SHARE_PASSWORD)
        assert right.status_code == 303
        assert browser.get(portal.content_url(made["token"])).status_code == 200
    logs = portal.logs_since(offsets)
    # The access log is on (it would show a password in a URL), and shows neither the
    # password nor the link's token (a bearer secret too): only the route.
    assert "POST /s/{token} 401" in logs and "POST /s/{token} 303" in logs
    assert SHARE_PASSWORD not in logs
    assert made["token"] not in logs


# --- dead links ----------------------------------------------------------------------------


def test_unknown_links(portal: Portal, http: httpx.Client) -> None:
    for token in ("no-such-link", "A" * 32, "x" * 500, "%2e%2e"):
        assert_all_gone(http, portal, token)
    assert_gone(http.post(portal.page_url("nope"), data={"password": "x"}, headers=HTML), html=True)


def test_expired_link(portal: Portal, owner: dict[str, str], http: httpx.Client) -> None:
    file_id = portal.put(owner, "short-lived.bin", DATA)
    locked = portal.share(owner, file_id, expires_in=2, password=SHARE_PASSWORD)
    made = portal.share(owner, file_id, expires_in=1)

    def before_expiry(response: httpx.Response, share: dict[str, str], ok: int) -> None:
        # A busy machine may answer after the expiry: then the link is gone already.
        if datetime.now(UTC) < datetime.fromisoformat(share["expires_at"]):
            assert response.status_code == ok, response.text[:200]
        else:
            assert response.status_code in (ok, 404), response.text[:200]

    with client(cookies=True) as browser:
        # A ticket and an unlock from before the expiry do not outlive it.
        before_expiry(browser.get(portal.content_url(made["token"])), made, 200)
        before_expiry(unlock(portal, browser, locked["token"], SHARE_PASSWORD), locked, 303)
        ends = max(datetime.fromisoformat(s["expires_at"]) for s in (made, locked))
        time.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 0.2)
        for token in (made["token"], locked["token"]):
            assert_all_gone(http, portal, token)
            assert_gone(browser.get(portal.content_url(token)), html=False)
            headers = {"Range": "bytes=0-9"}
            assert_gone(browser.get(portal.content_url(token), headers=headers), html=False)
        assert_gone(unlock(portal, browser, locked["token"], SHARE_PASSWORD), html=True)
    # Still listed (with its expiry) until revoked; revoking it works.
    listed = {s["id"] for s in portal.list_shares(owner, file_id).json()["items"]}
    assert made["id"] in listed
    assert portal.revoke(owner, made["id"]).status_code == 204


def test_revoked_link(portal: Portal, owner: dict[str, str], http: httpx.Client) -> None:
    file_id = portal.put(owner, "revoked.bin", DATA)
    made = portal.share(owner, file_id)
    with client(cookies=True) as browser:
        assert browser.get(portal.content_url(made["token"])).status_code == 200
        assert portal.revoke(owner, made["token"]).status_code == 204
        assert_all_gone(http, portal, made["token"])
        # The download ticket the browser holds ends with the link.
        for headers in ({}, {"Range": "bytes=0-9"}):
            assert_gone(browser.get(portal.content_url(made["token"]), headers=headers), html=False)


def test_used_up_link(portal: Portal, owner: dict[str, str], http: httpx.Client) -> None:
    file_id = portal.put(owner, "once.bin", DATA)
    made = portal.share(owner, file_id, max_downloads=1)
    assert http.get(portal.content_url(made["token"])).content == DATA
    assert_all_gone(http, portal, made["token"])
    (listed,) = portal.list_shares(owner, file_id).json()["items"]
    assert listed["downloads"] == 1 and listed["max_downloads"] == 1


def test_link_of_a_deleted_file(portal: Portal, owner: dict[str, str], http: httpx.Client) -> None:
    file_id = portal.put(owner, "deleted.bin", DATA)
    made = portal.share(owner, file_id)
    locked = portal.share(owner, file_id, password=SHARE_PASSWORD)
    with client(cookies=True) as browser:
        assert browser.get(portal.content_url(made["token"])).status_code == 200
        assert unlock(portal, browser, locked["token"], SHARE_PASSWORD).status_code == 303
        portal.delete_file(owner, file_id)
        for token in (made["token"], locked["token"]):
            assert_all_gone(http, portal, token)
            assert_gone(browser.get(portal.content_url(token)), html=False)


def test_page_of_a_dead_link_is_friendly(portal: Portal, http: httpx.Client) -> None:
    response = http.get(portal.page_url("gone-for-good"), headers=HTML)
    assert_gone(response, html=True)
    assert 'href="/"' in response.text
    assert "gone-for-good" not in response.text
