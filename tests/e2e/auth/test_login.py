"""Logging in: the OAuth2 password flow, the browser session with its CSRF token, logout,
the login page, the published keys, and the lockout after repeated failures."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.e2e.auth import forge
from tests.e2e.auth.support import (
    LOGIN_MAX_FAILURES,
    LOGIN_MAX_FAILURES_PER_USER,
    REVOCATION_BOUND,
    Portal,
    wait_all_status,
)
from tests.harness.http import ADMIN, ADMIN_PASSWORD, PASSWORD, bearer, client, unique
from tests.harness.servers import ServerProcess, free_port


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    """A client that keeps cookies, like a browser (cookies are per host, not per port, so
    the session cookie set by the auth service reaches every service of the split)."""
    with client(cookies=True) as c:
        yield c


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    """Each Set-Cookie header of the response, by cookie name."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        name = header.split("=", 1)[0]
        found[name] = header
    return found


def _cookie_login(portal: Portal, browser: httpx.Client, username: str) -> tuple[str, str]:
    """Log the browser in; the session cookie's value and the CSRF token."""
    response = browser.post(
        f"{portal.auth}/api/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return browser.cookies["filebay_session"], response.json()["csrf_token"]


# --- the first admin ------------------------------------------------------------------------


def test_first_admin_password_comes_from_the_environment(portal: Portal) -> None:
    """This deployment's first start had FILEBAY_ADMIN_PASSWORD: that is the password, and
    nothing was printed (test_first_start.py covers the start without it)."""
    token = portal.login(ADMIN, ADMIN_PASSWORD)
    me = portal.http.get(f"{portal.auth}/api/me", headers=bearer(token)).json()
    assert me["username"] == ADMIN and me["role"] == "admin"
    for name, proc in portal.deployment.processes.items():
        text = proc.log_path.read_text(errors="replace")
        assert "created user 'admin' with password" not in text, name
        assert ADMIN_PASSWORD not in text, name


# --- the OAuth2 password flow ---------------------------------------------------------------


def test_password_flow_gives_a_jwt_that_every_service_accepts(portal: Portal) -> None:
    username = unique("flow")
    portal.add_user(username)
    response = portal.http.post(
        f"{portal.auth}/api/auth/token", data={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] > 0
    token = body["access_token"]
    claims = forge.claims_of(token)
    assert claims["sub"] == username
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    assert forge.header_of(token)["alg"] == "EdDSA"
    jwks = portal.http.get(f"{portal.auth}/.well-known/jwks.json").json()
    assert forge.header_of(token)["kid"] in {k["kid"] for k in jwks["keys"]}

    # Upload, list, read and download, each on its own service (split: four processes that
    # verify the JWT with the published keys, no call to the auth service per request).
    record = portal.put(token, "flow.txt", b"flow")
    listed = portal.http.get(f"{portal.metadata}/api/files", headers=bearer(token)).json()
    assert [item["id"] for item in listed["items"]] == [record["id"]]
    got = portal.http.get(
        f"{portal.download}/api/files/{record['id']}/content", headers=bearer(token)
    )
    assert got.status_code == 200 and got.content == b"flow"
    me = portal.http.get(f"{portal.auth}/api/me", headers=bearer(token)).json()
    assert me["username"] == username and me["via"] == "jwt" and me["used_bytes"] == 4


@pytest.mark.parametrize(
    "form",
    [
        {"username": "nobody-here", "password": PASSWORD},
        {"username": "flow-wrong", "password": "wrong-password"},
        {"username": "flow-wrong", "password": ""},
    ],
    ids=["unknown user", "wrong password", "empty password"],
)
def test_bad_logins_get_one_answer(portal: Portal, form: dict[str, str]) -> None:
    """One message for every failure: nobody learns which usernames exist."""
    if "flow-wrong" not in portal.users():
        portal.add_user("flow-wrong")
    response = portal.http.post(f"{portal.auth}/api/auth/token", data=form)
    assert response.status_code in (400, 401), response.text
    if response.status_code == 401:
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["detail"] == "wrong username or password"
    # The right password still works (two failures stay under the lockout).
    portal.login("flow-wrong")


def test_jwks_publishes_public_keys_only(portal: Portal) -> None:
    response = portal.http.get(f"{portal.auth}/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert keys
    for key in keys:
        assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["alg"] == "EdDSA"
        assert key["kid"] and key["x"]
        assert "d" not in key, "the JWKS publishes a private key"


# --- the browser session ----------------------------------------------------------------------


def test_login_sets_httponly_lax_session_cookie_and_csrf_cookie(
    portal: Portal, browser: httpx.Client
) -> None:
    username = unique("cookie")
    portal.add_user(username)
    response = browser.post(
        f"{portal.auth}/api/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    assert response.json()["username"] == username
    cookies = _set_cookies(response)
    session = SimpleCookie(cookies["filebay_session"])["filebay_session"]
    csrf = SimpleCookie(cookies["filebay_csrf"])["filebay_csrf"]
    assert session["httponly"] is True
    assert session["samesite"].lower() == "lax"
    assert session["path"] == "/"
    assert csrf["httponly"] == "", "the page's script must be able to read the CSRF cookie"
    assert csrf["samesite"].lower() == "lax"
    assert csrf.value == response.json()["csrf_token"]
    # The session cookie is a JWT carrying the CSRF token, so every service can check it.
    assert forge.claims_of(session.value)["csrf"] == csrf.value


def test_wrong_login_sets_no_cookie(portal: Portal, browser: httpx.Client) -> None:
    username = unique("nocookie")
    portal.add_user(username)
    response = browser.post(
        f"{portal.auth}/api/auth/login", json={"username": username, "password": "wrong-pass"}
    )
    assert response.status_code == 401
    assert "set-cookie" not in response.headers


def test_session_cookie_reads_on_every_service_but_writes_need_csrf(
    portal: Portal, browser: httpx.Client
) -> None:
    username = unique("csrf")
    portal.add_user(username)
    _cookie, csrf = _cookie_login(portal, browser, username)

    # Reads need no CSRF token, on any service.
    me = browser.get(f"{portal.auth}/api/me")
    assert me.status_code == 200 and me.json()["via"] == "session"
    assert browser.get(f"{portal.metadata}/api/files").status_code == 200
    assert browser.get(f"{portal.upload}/").status_code == 200

    wrong = {"X-CSRF-Token": "not-the-token"}
    right = {"X-CSRF-Token": csrf}
    for headers in ({}, wrong):
        put = browser.put(f"{portal.upload}/api/upload/x.txt", content=b"x", headers=headers)
        assert put.status_code == 403 and put.json()["code"] == "csrf_failed", put.text
        multi = browser.post(
            f"{portal.upload}/api/files", files={"file": ("m.txt", b"m")}, headers=headers
        )
        assert multi.status_code == 403 and multi.json()["code"] == "csrf_failed"
        token = browser.post(f"{portal.auth}/api/tokens", json={"name": "t"}, headers=headers)
        assert token.status_code == 403 and token.json()["code"] == "csrf_failed"
    tokens = portal.http.get(f"{portal.auth}/api/tokens", headers=bearer(portal.login(username)))
    assert tokens.json()["items"] == [], "a request refused for CSRF made an API token"
    assert browser.get(f"{portal.metadata}/api/files").json()["items"] == [], (
        "a request refused for CSRF stored a file"
    )

    put = browser.put(f"{portal.upload}/api/upload/x.txt", content=b"x", headers=right)
    assert put.status_code == 201, put.text
    file_id = put.json()["id"]
    multi = browser.post(
        f"{portal.upload}/api/files", files={"file": ("m.txt", b"m")}, headers=right
    )
    assert multi.status_code == 201
    token = browser.post(f"{portal.auth}/api/tokens", json={"name": "t"}, headers=right)
    assert token.status_code == 201

    url = f"{portal.metadata}/api/files/{file_id}"
    for headers in ({}, wrong):
        assert browser.patch(url, json={"name": "y.txt"}, headers=headers).status_code == 403
        assert browser.delete(url, headers=headers).status_code == 403
    assert browser.get(url).json()["name"] == "x.txt"
    assert browser.patch(url, json={"name": "y.txt"}, headers=right).status_code == 200
    assert browser.delete(url, headers=right).status_code == 204
    assert browser.get(url).status_code == 404


def test_csrf_token_of_another_session_is_refused(portal: Portal) -> None:
    username = unique("csrf2")
    portal.add_user(username)
    with client(cookies=True) as first, client(cookies=True) as second:
        _cookie, first_csrf = _cookie_login(portal, first, username)
        _cookie, second_csrf = _cookie_login(portal, second, username)
        assert first_csrf != second_csrf
        put = first.put(
            f"{portal.upload}/api/upload/x.txt",
            content=b"x",
            headers={"X-CSRF-Token": second_csrf},
        )
        assert put.status_code == 403


def test_bearer_requests_need_no_csrf_token(portal: Portal) -> None:
    _username, token = portal.new_user("bearer")
    api_token = portal.new_api_token(token)["token"]
    for credential in (token, api_token):
        put = portal.http.put(
            f"{portal.upload}/api/upload/b.txt", content=b"b", headers=bearer(credential)
        )
        assert put.status_code == 201, put.text
        deleted = portal.http.delete(
            f"{portal.metadata}/api/files/{put.json()['id']}", headers=bearer(credential)
        )
        assert deleted.status_code == 204


def test_a_bearer_jwt_in_the_cookie_cannot_write(portal: Portal) -> None:
    """A JWT from the password flow carries no CSRF token: as a cookie it only reads."""
    _username, token = portal.new_user("cookiejwt")
    cookie = {"Cookie": f"filebay_session={token}"}
    assert portal.http.get(f"{portal.auth}/api/me", headers=cookie).status_code == 200
    put = portal.http.put(
        f"{portal.upload}/api/upload/c.txt",
        content=b"c",
        headers={**cookie, "X-CSRF-Token": "anything"},
    )
    assert put.status_code == 403


def test_logout_ends_the_session_on_every_service(portal: Portal, browser: httpx.Client) -> None:
    username, token = portal.new_user("logout")
    record = portal.put(token, "mine.txt", b"mine")
    cookie, csrf = _cookie_login(portal, browser, username)
    old = {"Cookie": f"filebay_session={cookie}"}
    # Every service has checked (and may remember) the session.
    for service, probe in portal.probes(old, record["id"]).items():
        assert probe().status_code == 200, service

    # Logging out is a write: without the CSRF token it is refused and changes nothing.
    refused = browser.post(f"{portal.auth}/api/auth/logout")
    assert refused.status_code == 403
    assert browser.get(f"{portal.auth}/api/me").status_code == 200

    response = browser.post(f"{portal.auth}/api/auth/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    ended = time.monotonic()
    cleared = _set_cookies(response)
    for name in ("filebay_session", "filebay_csrf"):
        assert "max-age=0" in cleared[name].lower() or "expires=" in cleared[name].lower()
    assert "filebay_session" not in browser.cookies

    # The service that handled the logout refuses the old cookie at once ...
    me = portal.http.get(f"{portal.auth}/api/me", headers=old)
    assert me.status_code == 401
    # ... the others once their cache of it runs out.
    took = wait_all_status(portal.probes(old, record["id"]), 401, since=ended)
    assert max(took.values()) <= REVOCATION_BOUND
    # The user's other credentials are not affected.
    assert portal.http.get(f"{portal.auth}/api/me", headers=bearer(token)).status_code == 200


def test_logout_of_a_bearer_jwt_ends_that_jwt(portal: Portal) -> None:
    username, token = portal.new_user("logoutjwt")
    other = portal.login(username)
    response = portal.http.post(f"{portal.auth}/api/auth/logout", headers=bearer(token))
    assert response.status_code == 204
    assert portal.http.get(f"{portal.auth}/api/me", headers=bearer(token)).status_code == 401
    assert portal.http.get(f"{portal.auth}/api/me", headers=bearer(other)).status_code == 200


# --- the login page ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/admin", True),
        ("/api/files?q=x", True),
        ("https://evil.example/", False),
        ("//evil.example/", False),
        ("/\\evil.example/", False),
        # Browsers drop tab, CR and LF: each of these would become //evil.example/phish.
        ("/\t/evil.example/phish", False),
        ("/\r/evil.example/phish", False),
        ("/\n/evil.example/phish", False),
        ("/ /evil.example/phish", False),
    ],
)
def test_login_page_sends_people_back_only_to_this_site(
    portal: Portal, target: str, kept: bool
) -> None:
    response = portal.http.get(f"{portal.auth}/login", params={"next": target})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "evil.example" not in response.text
    if kept:
        assert 'data-next="' + target.replace("&", "&amp;") in response.text


def _next_of_login_page(portal: Portal, target: str | None) -> str:
    params = {"next": target} if target is not None else {}
    response = portal.http.get(f"{portal.auth}/login", params=params)
    assert response.status_code == 200
    match = re.search(r'data-next="([^"]*)"', response.text)
    assert match, response.text
    return html.unescape(match.group(1))


def test_login_sends_people_back_to_the_page_of_any_of_our_services(portal: Portal) -> None:
    """In the split shape the pages live on several services (the UI on upload, /admin and
    /tokens on auth; /uploads on download where FILEBAY_DOWNLOAD_URL is set, see
    tests/unit/http/test_safe_next.py): each sends its own absolute URL as ``next``."""
    pages = [f"{portal.upload}/?q=x", f"{portal.auth}/admin"]
    for page in pages:
        response = portal.http.get(page, headers={"Accept": "text/html"})
        assert response.status_code == 303, page
        target = parse_qs(urlsplit(response.headers["location"]).query)["next"][0]
        # All in one process the login page is on the same origin: a path is enough.
        assert target == (page if portal.shape == "split" else page.removeprefix(portal.upload))
        assert _next_of_login_page(portal, target) == target


def test_a_refused_next_leads_to_the_ui_not_to_the_auth_services_root(portal: Portal) -> None:
    home = f"{portal.upload}/" if portal.shape == "split" else "/"
    assert _next_of_login_page(portal, "https://evil.example/") == home
    assert _next_of_login_page(portal, f"{portal.download}.evil.example/") == home
    assert _next_of_login_page(portal, None) == home


def test_anonymous_browser_is_sent_to_the_login_page(portal: Portal) -> None:
    response = portal.http.get(f"{portal.upload}/", headers={"Accept": "text/html"})
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(f"{portal.auth}/login?next=" if portal.shape == "split" else "/")
    assert "/login?next=" in location


# --- lockout after failed logins --------------------------------------------------------------


def _token_status(http: httpx.Client, auth: str, username: str, password: str) -> httpx.Response:
    return http.post(f"{auth}/api/auth/token", data={"username": username, "password": password})


def test_a_successful_login_resets_the_failure_count(portal: Portal) -> None:
    username = unique("reset")
    portal.add_user(username)
    for _round in range(3):
        for _ in range(LOGIN_MAX_FAILURES - 1):
            assert _token_status(portal.http, portal.auth, username, "wrong").status_code == 401
        assert _token_status(portal.http, portal.auth, username, PASSWORD).status_code == 200


def _from(address: str) -> httpx.Client:
    """A client whose connections come from ``address`` (any of 127.0.0.0/8 is loopback)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30.0)


def test_a_stranger_failing_does_not_lock_the_user_out_elsewhere(portal: Portal) -> None:
    username = unique("target")
    portal.add_user(username)
    with _from("127.0.0.2") as stranger:
        for _ in range(LOGIN_MAX_FAILURES):
            assert _token_status(stranger, portal.auth, username, "wrong").status_code == 401
        # The stranger's address is held back for this user, even with the right password.
        assert _token_status(stranger, portal.auth, username, PASSWORD).status_code == 429
    # The user, from their own address, is not.
    assert _token_status(portal.http, portal.auth, username, PASSWORD).status_code == 200


def test_failures_spread_over_addresses_lock_the_user_out_everywhere(portal: Portal) -> None:
    username = unique("spread")
    portal.add_user(username)
    per_address = LOGIN_MAX_FAILURES - 1  # under the one-address limit everywhere
    addresses = [f"127.0.0.{3 + i}" for i in range(-(-LOGIN_MAX_FAILURES_PER_USER // per_address))]
    for address in addresses:
        with _from(address) as guesser:
            for _ in range(per_address):
                assert _token_status(guesser, portal.auth, username, "wrong").status_code == 401
    response = _token_status(portal.http, portal.auth, username, PASSWORD)
    assert response.status_code == 429, response.text
    assert 0 < int(response.headers["retry-after"]) <= 900


def test_repeated_failures_lock_the_user_out_on_every_replica(portal: Portal) -> None:
    username = unique("locked")
    portal.add_user(username)
    bystander, _token = portal.new_user("bystander")
    for _ in range(LOGIN_MAX_FAILURES):
        assert _token_status(portal.http, portal.auth, username, "wrong").status_code == 401

    for password in ("wrong", PASSWORD):
        response = _token_status(portal.http, portal.auth, username, password)
        assert response.status_code == 429, response.text
        assert 0 < int(response.headers["retry-after"]) <= 900
    cookie_login = portal.http.post(
        f"{portal.auth}/api/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert cookie_login.status_code == 429
    # Only that user is locked out.
    assert _token_status(portal.http, portal.auth, bystander, PASSWORD).status_code == 200

    # The count lives in the database: another replica of the login service, started now,
    # holds the same lockout.
    login = portal.login_process
    replica = ServerProcess(
        login.service, free_port(), portal.data_dir, login.env, portal.data_dir / "replica.log"
    ).start(wait=False)
    try:
        replica.wait_ready()
        response = _token_status(portal.http, replica.url, username, PASSWORD)
        assert response.status_code == 429, response.text
        assert _token_status(portal.http, replica.url, bystander, PASSWORD).status_code == 200
    finally:
        replica.stop()
