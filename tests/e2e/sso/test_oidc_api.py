"""Single sign-on through a real OpenID Provider, as a browser's requests (httpx keeping
cookies), in both shapes: users made at first sign-in and found again by (issuer, sub),
roles from the provider's groups at each sign-in, and every way a sign-in must fail."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from tests.e2e.sso.conftest import Site
from tests.e2e.sso.support import ADMIN_GROUP, CALLBACK, sign_in_until_callback
from tests.harness.http import PASSWORD, bearer, client

pytestmark = pytest.mark.postgres


@pytest.fixture
def browser_http() -> Iterator[httpx.Client]:
    """One browser's cookies (the harness's client: a 5xx fails the test)."""
    with client(cookies=True) as http:
        yield http


def _session_cookies(response: httpx.Response) -> list[str]:
    return [v for v in response.headers.get_list("set-cookie") if v.startswith("filebay_session=")]


def _me(http: httpx.Client, base: str) -> dict[str, object]:
    response = http.get(f"{base}/api/me")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _callback_with(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


def test_first_sign_in_creates_the_user_and_keeps_next(
    site: Site, browser_http: httpx.Client
) -> None:
    portal, _provider = site
    # Where the login page is sent from: a path here, the UI's full URL in the split shape.
    next_url = "/uploads" if portal.shape == "all" else f"{portal.upload}/?view=grid"
    callback = sign_in_until_callback(browser_http, portal.auth, "alice-sub", next=next_url)
    response = browser_http.get(callback)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == next_url
    assert _session_cookies(response)
    me = _me(browser_http, portal.auth)
    assert me["username"] == "alice" and me["role"] == "user" and me["via"] == "session"
    # The session works on every service, like a password login's.
    assert browser_http.get(f"{portal.metadata}/api/files").status_code == 200
    assert (
        browser_http.get(next_url if portal.shape != "all" else portal.auth + next_url).status_code
        == 200
    )
    links = [r for r in portal.rows("oidc_identities") if r["subject"] == "alice-sub"]
    assert [r["username"] for r in links] == ["alice"]
    # Nothing of the sign-in under way is left behind.
    assert portal.rows("oidc_sign_ins") == []


def test_second_sign_in_finds_the_same_user(site: Site) -> None:
    portal, _provider = site
    for _ in range(2):
        with client(cookies=True) as http:
            assert (
                http.get(sign_in_until_callback(http, portal.auth, "alice-sub")).status_code == 303
            )
            assert _me(http, portal.auth)["username"] == "alice"
    users = portal.http.get(f"{portal.auth}/api/users", headers=portal.admin()).json()["items"]
    assert [u["username"] for u in users].count("alice") == 1
    assert len([r for r in portal.rows("oidc_identities") if r["subject"] == "alice-sub"]) == 1


def test_open_redirects_in_next_are_refused(site: Site, browser_http: httpx.Client) -> None:
    portal, _provider = site
    callback = sign_in_until_callback(
        browser_http, portal.auth, "alice-sub", next="//evil.example/"
    )
    response = browser_http.get(callback)
    assert response.status_code == 303
    location = response.headers["location"]
    assert "evil.example" not in location
    assert urlsplit(location).hostname in (None, "127.0.0.1")


def test_roles_follow_the_provider_groups_at_each_sign_in(site: Site) -> None:
    portal, provider = site
    with client(cookies=True) as http:
        assert http.get(sign_in_until_callback(http, portal.auth, "bob-sub")).status_code == 303
        assert _me(http, portal.auth)["role"] == "admin"
    provider.set_claims("bob-sub", {"preferred_username": "bob", "groups": ["staff"]})
    with client(cookies=True) as http:
        assert http.get(sign_in_until_callback(http, portal.auth, "bob-sub")).status_code == 303
        assert _me(http, portal.auth)["role"] == "user"
    provider.set_claims("bob-sub", {"preferred_username": "bob", "groups": [ADMIN_GROUP]})
    with client(cookies=True) as http:
        assert http.get(sign_in_until_callback(http, portal.auth, "bob-sub")).status_code == 303
        assert _me(http, portal.auth)["role"] == "admin"


def test_a_local_account_is_never_linked_by_name(site: Site, browser_http: httpx.Client) -> None:
    portal, _provider = site
    portal.add_user("localuser")
    response = browser_http.get(sign_in_until_callback(browser_http, portal.auth, "mallory-sub"))
    assert response.status_code == 403
    assert "not linked" in response.text
    assert not _session_cookies(response)
    assert not [r for r in portal.rows("oidc_identities") if r["subject"] == "mallory-sub"]
    # The local account is as it was: its password works, its role is its own.
    token = portal.login("localuser", PASSWORD)
    me = portal.http.get(f"{portal.auth}/api/me", headers=bearer(token)).json()
    assert me["role"] == "user"


def test_a_disabled_user_stays_disabled(site: Site) -> None:
    portal, _provider = site
    with client(cookies=True) as http:
        assert http.get(sign_in_until_callback(http, portal.auth, "carol-sub")).status_code == 303
    patched = portal.http.patch(
        f"{portal.auth}/api/users/carol", json={"disabled": True}, headers=portal.admin()
    )
    assert patched.status_code == 200, patched.text
    with client(cookies=True) as http:
        response = http.get(sign_in_until_callback(http, portal.auth, "carol-sub"))
        assert response.status_code == 403
        assert "disabled" in response.text
        assert not _session_cookies(response)
    portal.http.patch(
        f"{portal.auth}/api/users/carol", json={"disabled": False}, headers=portal.admin()
    )


def test_a_tampered_state_is_refused(site: Site, browser_http: httpx.Client) -> None:
    portal, _provider = site
    callback = sign_in_until_callback(browser_http, portal.auth, "alice-sub")
    response = browser_http.get(_callback_with(callback, state="made-up-state"))
    assert response.status_code == 400
    assert not _session_cookies(response)


def test_a_callback_in_another_browser_is_refused(site: Site, browser_http: httpx.Client) -> None:
    portal, _provider = site
    callback = sign_in_until_callback(browser_http, portal.auth, "alice-sub")
    with client(cookies=True) as other:  # has not the first browser's cookie
        response = other.get(callback)
    assert response.status_code == 400
    assert "another browser" in response.text
    assert not _session_cookies(response)
    # …and the state is spent: the first browser cannot use it either now.
    assert browser_http.get(callback).status_code == 400


def test_a_replayed_code_is_refused(site: Site, browser_http: httpx.Client) -> None:
    portal, _provider = site
    callback = sign_in_until_callback(browser_http, portal.auth, "alice-sub")
    assert browser_http.get(callback).status_code == 303
    # The same callback again: its state is spent.
    again = browser_http.get(callback)
    assert again.status_code == 400 and not _session_cookies(again)
    # The used code under a fresh, valid state of the same browser: the provider refuses it.
    fresh = sign_in_until_callback(browser_http, portal.auth, "alice-sub")
    old_code = dict(parse_qsl(urlsplit(callback).query))["code"]
    replay = browser_http.get(_callback_with(fresh, code=old_code))
    assert replay.status_code == 400
    assert "refused the sign-in code" in replay.text
    assert not _session_cookies(replay)


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("wrong_nonce", "nonce"),
        ("wrong_audience", "another client"),
        ("expired", "expired"),
        ("wrong_issuer", "iss"),
        ("foreign_key", "signature"),
    ],
)
def test_a_bad_id_token_is_refused(
    site: Site, browser_http: httpx.Client, mode: str, reason: str
) -> None:
    portal, provider = site
    callback = sign_in_until_callback(browser_http, portal.auth, "alice-sub")
    provider.tamper(mode)
    response = browser_http.get(callback)
    assert response.status_code == 400, response.text
    assert reason in response.text
    assert not _session_cookies(response)


def test_the_provider_refusing_is_a_clear_page(site: Site, browser_http: httpx.Client) -> None:
    portal, _provider = site
    response = browser_http.get(
        f"{portal.auth}{CALLBACK}", params={"error": "access_denied", "state": "x"}
    )
    assert response.status_code == 400
    assert "did not sign you in" in response.text
