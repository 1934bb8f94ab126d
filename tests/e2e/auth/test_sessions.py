"""One's sessions (DESIGN §8.4) through real servers, in both shapes: listed with device,
address and use, ended one by one or all but the caller's ("sign out everywhere else"),
never another user's."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.auth.support import REVOCATION_BOUND, Portal, wait_all_status
from tests.harness.http import PASSWORD, bearer

pytestmark = pytest.mark.postgres

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def _browser_login(portal: Portal, username: str, agent: str) -> dict[str, str]:
    """The cookies and CSRF header of a fresh browser session."""
    response = portal.http.post(
        f"{portal.auth}/api/auth/login",
        json={"username": username, "password": PASSWORD},
        headers={"user-agent": agent},
    )
    assert response.status_code == 200, response.text
    cookies = {
        c.split("=", 1)[0]: c.split("=", 1)[1].split(";")[0]
        for c in response.headers.get_list("set-cookie")
    }
    return {
        "cookie": f"filebay_session={cookies['filebay_session']}",
        "x-csrf-token": cookies["filebay_csrf"],
    }


def _sessions(portal: Portal, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = portal.http.get(f"{portal.auth}/api/me/sessions", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def _files(portal: Portal, headers: dict[str, str]) -> httpx.Response:
    return portal.http.get(f"{portal.metadata}/api/files", headers=headers)


def test_sessions_are_listed_with_their_device(portal: Portal) -> None:
    username, token = portal.new_user("sess")
    laptop = _browser_login(portal, username, FIREFOX)
    items = _sessions(portal, laptop)
    assert len(items) == 2  # the harness's token login, and this browser
    mine = [s for s in items if s["current"]]
    assert len(mine) == 1
    assert mine[0]["device"] == "Firefox on Linux"
    assert mine[0]["address"] == "127.0.0.1"
    assert mine[0]["created_at"] and mine[0]["last_used_at"] and mine[0]["expires_at"]
    other = next(s for s in items if not s["current"])
    assert other["device"] == "Python"  # httpx's token login
    assert token not in str(items)  # the ids are hashes, never the secrets


def test_ending_one_session(portal: Portal) -> None:
    username, token = portal.new_user("sess")
    laptop = _browser_login(portal, username, FIREFOX)
    phone = _browser_login(portal, username, "Mozilla/5.0 (iPhone) Safari/604.1")
    phone_id = next(s["id"] for s in _sessions(portal, phone) if s["current"])
    ended = portal.http.delete(f"{portal.auth}/api/me/sessions/{phone_id}", headers=laptop)
    assert ended.status_code == 204
    wait_all_status(
        {
            "auth": lambda: portal.http.get(f"{portal.auth}/api/me", headers=phone),
            "metadata": lambda: _files(portal, phone),
        },
        401,
        REVOCATION_BOUND,
    )
    assert _files(portal, laptop).status_code == 200
    assert _files(portal, bearer(token)).status_code == 200
    again = portal.http.delete(f"{portal.auth}/api/me/sessions/{phone_id}", headers=laptop)
    assert again.status_code == 404


def test_another_users_session_cannot_be_ended(portal: Portal) -> None:
    _alice, alice_token = portal.new_user("sess")
    _bob, bob_token = portal.new_user("sess")
    bob_session = _sessions(portal, bearer(bob_token))[0]["id"]
    refused = portal.http.delete(
        f"{portal.auth}/api/me/sessions/{bob_session}", headers=bearer(alice_token)
    )
    assert refused.status_code == 404
    assert _files(portal, bearer(bob_token)).status_code == 200


def test_sign_out_everywhere_else(portal: Portal) -> None:
    username, token = portal.new_user("sess")
    here = _browser_login(portal, username, FIREFOX)
    elsewhere = [_browser_login(portal, username, "curl/8.5.0") for _ in range(2)]
    ended = portal.http.delete(f"{portal.auth}/api/me/sessions", headers=here)
    assert ended.status_code == 200 and ended.json() == {"ended": 3}  # the token's too
    probes = {f"elsewhere-{i}": (lambda h=h: _files(portal, h)) for i, h in enumerate(elsewhere)}
    probes["token"] = lambda: _files(portal, bearer(token))
    wait_all_status(probes, 401, REVOCATION_BOUND)
    assert _files(portal, here).status_code == 200
    assert [s["current"] for s in _sessions(portal, here)] == [True]
