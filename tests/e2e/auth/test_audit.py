"""The audit log (DESIGN §8.4) through real servers, in both shapes: every kind of event
this release records appears after its action, with time, actor, address, user agent and
target; failed logins carry their cause for admins only; the log and the servers' logs hold
none of the passwords, codes and tokens the test used; the admin page and the export."""

from __future__ import annotations

import json
from typing import Any

import pyotp
import pytest

from filebay.audit import events
from tests.e2e.auth.support import LOGIN_MAX_FAILURES, Portal
from tests.harness.http import ADMIN, ADMIN_PASSWORD, PASSWORD, bearer, unique

pytestmark = pytest.mark.postgres

AGENT = "audit-test-agent/1.0"


def _audit(portal: Portal, **params: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": "50", **({"cursor": cursor} if cursor else {})}
        response = portal.http.get(f"{portal.auth}/api/audit", params=query, headers=portal.admin())
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


def test_every_event_appears_and_no_secret_does(portal: Portal) -> None:
    offsets = portal.log_offsets()
    http, auth = portal.http, portal.auth
    secrets_used = [ADMIN_PASSWORD, PASSWORD]
    ua = {"user-agent": AGENT}
    username = unique("audited")
    wrong_password = "wrong-password-" + unique("x")
    secrets_used.append(wrong_password)

    portal.add_user(username)  # user.created
    for name, password in ((unique("nobody"), wrong_password), (username, wrong_password)):
        form = {"username": name, "password": password}
        assert http.post(f"{auth}/api/auth/token", data=form, headers=ua).status_code == 401
    form = {"username": username, "password": PASSWORD}
    issued = http.post(f"{auth}/api/auth/token", data=form, headers=ua)
    assert issued.status_code == 200
    token = issued.json()["access_token"]
    secrets_used.append(token)
    me = bearer(token) | ua
    created = http.post(f"{auth}/api/tokens", json={"name": "audit-script"}, headers=me).json()
    secrets_used.append(created["token"])
    assert http.delete(f"{auth}/api/tokens/{created['id']}", headers=me).status_code == 204
    secret = http.post(f"{auth}/api/me/totp", headers=me).json()["secret"]
    secrets_used.append(secret)
    app = pyotp.TOTP(secret)
    code = app.now()
    confirmed = http.post(f"{auth}/api/me/totp/confirm", json={"code": code}, headers=me)
    assert confirmed.status_code == 200
    secrets_used += [code, *confirmed.json()["recovery_codes"]]
    mfa = http.post(f"{auth}/api/auth/login", json={"username": username, "password": PASSWORD})
    mfa_token = mfa.json()["mfa_token"]
    secrets_used.append(mfa_token)
    wrong = http.post(f"{auth}/api/auth/login/mfa", json={"mfa_token": mfa_token, "code": "000000"})
    assert wrong.status_code == 401
    off = http.request(
        "DELETE",
        f"{auth}/api/me/totp",
        json={"code": confirmed.json()["recovery_codes"][0]},
        headers=me,
    )
    assert off.status_code == 204
    browser = http.post(
        f"{auth}/api/auth/login", json={"username": username, "password": PASSWORD}, headers=ua
    )
    cookie = browser.headers.get_list("set-cookie")
    session = next(c for c in cookie if c.startswith("filebay_session=")).split(";")[0]
    secrets_used.append(session.split("=", 1)[1])
    browser_headers = {"cookie": session, "x-csrf-token": browser.json()["csrf_token"]} | ua
    assert http.delete(f"{auth}/api/me/sessions", headers=browser_headers).status_code == 200
    assert http.post(f"{auth}/api/auth/logout", headers=browser_headers).status_code == 204
    admin = portal.admin()
    assert http.delete(f"{auth}/api/users/{username}/mfa", headers=admin).status_code == 204
    new_password = "new-password-" + unique("p")
    secrets_used.append(new_password)
    patched = http.patch(
        f"{auth}/api/users/{username}",
        json={"password": new_password, "quota_bytes": 10},
        headers=admin,
    )
    assert patched.status_code == 200
    assert portal.patch_user(username, disabled=True).status_code == 200
    form = {"username": username, "password": new_password}
    assert http.post(f"{auth}/api/auth/token", data=form).status_code == 401  # disabled
    locked_name = unique("locked")
    portal.add_user(locked_name)
    for _ in range(LOGIN_MAX_FAILURES):
        bad = {"username": locked_name, "password": wrong_password}
        assert http.post(f"{auth}/api/auth/token", data=bad).status_code == 401
    bad = {"username": locked_name, "password": wrong_password}
    assert http.post(f"{auth}/api/auth/token", data=bad).status_code == 429
    assert http.delete(f"{auth}/api/users/{username}", headers=admin).status_code == 204

    log = _audit(portal)
    types = {e["type"] for e in log}
    expected = {
        events.USER_CREATED, events.LOGIN_FAILED, events.LOGIN_OK, events.TOKEN_CREATED,
        events.TOKEN_REVOKED, events.MFA_ENABLED, events.MFA_DISABLED, events.MFA_RESET,
        events.SESSIONS_ENDED, events.LOGOUT, events.PASSWORD_CHANGED, events.USER_CHANGED,
        events.USER_DELETED,
    }  # fmt: skip
    assert expected <= types, expected - types
    reasons = {e["reason"] for e in log if e["type"] == events.LOGIN_FAILED}
    assert {
        events.UNKNOWN_USER, events.WRONG_PASSWORD, events.MFA_FAILED, events.DISABLED,
        events.LOCKED,
    } <= reasons  # fmt: skip
    mine = [e for e in log if e["actor"] == username and e["type"] == events.LOGIN_OK]
    assert mine and all(e["address"] == "127.0.0.1" for e in mine)
    assert any(e["user_agent"] == AGENT for e in mine)
    created_row = next(
        e for e in log if e["type"] == events.USER_CREATED and e["target"] == username
    )
    assert created_row["actor"] == ADMIN
    changes = [e["target"] for e in log if e["type"] == events.USER_CHANGED]
    assert f"{username}: quota_bytes" in changes and f"{username}: disabled" in changes

    # Hygiene: not one secret in the table or in any server's log.
    rows = json.dumps(portal.rows("audit_events"), default=str)
    server_logs = portal.logs_since(offsets)
    for secret in secrets_used:
        assert secret not in rows, f"a secret is in the audit log: {secret[:6]}…"
        assert secret not in server_logs, f"a secret is in a server log: {secret[:6]}…"

    # The filters, the admin page and the export.
    only = _audit(portal, actor=locked_name, type=events.LOGIN_FAILED)
    assert len(only) == LOGIN_MAX_FAILURES + 1
    page = http.get(
        f"{auth}/admin/audit",
        params={"type": events.USER_DELETED},
        headers=admin | {"accept": "text/html"},
    )
    assert page.status_code == 200 and username in page.text and 'class="audit-event"' in page.text
    exported = portal.cli("audit", "export", "--since", "2000-01-01")
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    assert {e["id"] for e in log} <= {e["id"] for e in lines}


def test_users_see_their_own_events_without_reasons(portal: Portal) -> None:
    username, token = portal.new_user("audited")
    bad = {"username": username, "password": "not-the-password"}
    assert portal.http.post(f"{portal.auth}/api/auth/token", data=bad).status_code == 401
    mine = portal.http.get(f"{portal.auth}/api/me/audit", headers=bearer(token))
    assert mine.status_code == 200
    items = mine.json()["items"]
    assert {e["type"] for e in items} >= {events.LOGIN_OK, events.LOGIN_FAILED}
    assert all(e["actor"] == username for e in items)
    assert all("reason" not in e for e in items)
    refused = portal.http.get(f"{portal.auth}/api/audit", headers=bearer(token))
    assert refused.status_code == 403
    bad_cursor = portal.http.get(
        f"{portal.auth}/api/me/audit", params={"cursor": "junk"}, headers=bearer(token)
    )
    assert bad_cursor.status_code == 400
