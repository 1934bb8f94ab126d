"""Two-step login with TOTP (DESIGN §8.4) through real servers, in both shapes: enrolment
and its recovery codes, the second step of the browser login and the token endpoint's
``totp`` field, a code good once, wrong codes rate limited, turning it off, the admins'
reset."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import pyotp
import pytest

from tests.e2e.auth.support import LOGIN_MAX_FAILURES, Portal
from tests.harness.http import PASSWORD, bearer

pytestmark = pytest.mark.postgres


@dataclass
class Enrolled:
    app: pyotp.TOTP  # the user's authenticator app
    recovery_codes: list[str]
    first_code: str  # the code that confirmed the enrolment (spent)


def _enrol(portal: Portal, token: str) -> Enrolled:
    """TOTP on for the user of ``token``."""
    started = portal.http.post(f"{portal.auth}/api/me/totp", headers=bearer(token))
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/")
    assert body["qr_svg"].startswith("<svg") and "<script" not in body["qr_svg"]
    app = pyotp.TOTP(body["secret"])
    first = app.now()
    confirmed = portal.http.post(
        f"{portal.auth}/api/me/totp/confirm", json={"code": first}, headers=bearer(token)
    )
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    return Enrolled(app, codes, first)


def _code(app: pyotp.TOTP, steps_ahead: int = 0) -> str:
    return app.at(time.time() + steps_ahead * 30)


def _login(portal: Portal, username: str, password: str = PASSWORD) -> httpx.Response:
    return portal.http.post(
        f"{portal.auth}/api/auth/login", json={"username": username, "password": password}
    )


def _second_step(portal: Portal, mfa_token: str, code: str) -> httpx.Response:
    return portal.http.post(
        f"{portal.auth}/api/auth/login/mfa", json={"mfa_token": mfa_token, "code": code}
    )


def _token(portal: Portal, username: str, totp: str | None = None) -> httpx.Response:
    form: dict[str, Any] = {"username": username, "password": PASSWORD}
    if totp is not None:
        form["totp"] = totp
    return portal.http.post(f"{portal.auth}/api/auth/token", data=form)


def _session_cookie(response: httpx.Response) -> bool:
    return any(v.startswith("filebay_session=") for v in response.headers.get_list("set-cookie"))


def test_enrolment_stores_hashes_only(portal: Portal) -> None:
    username, token = portal.new_user("totp")
    enrolled = _enrol(portal, token)
    status = portal.http.get(f"{portal.auth}/api/me/totp", headers=bearer(token)).json()
    assert status == {"enabled": True, "required": False}
    rows = [r for r in portal.rows("recovery_codes") if r["username"] == username]
    assert len(rows) == 10
    assert all(r["code_hash"].startswith("$argon2id$") for r in rows)
    stored = " ".join(str(r) for r in portal.rows("recovery_codes"))
    assert not any(code in stored for code in enrolled.recovery_codes)
    # On already: a second enrolment is refused until it is turned off.
    again = portal.http.post(f"{portal.auth}/api/me/totp", headers=bearer(token))
    assert again.status_code == 409


def test_a_wrong_confirmation_code_turns_nothing_on(portal: Portal) -> None:
    _username, token = portal.new_user("totp")
    portal.http.post(f"{portal.auth}/api/me/totp", headers=bearer(token))
    wrong = portal.http.post(
        f"{portal.auth}/api/me/totp/confirm", json={"code": "000000"}, headers=bearer(token)
    )
    assert wrong.status_code == 400 and wrong.json()["code"] == "wrong_code"
    status = portal.http.get(f"{portal.auth}/api/me/totp", headers=bearer(token)).json()
    assert status["enabled"] is False


def test_two_step_browser_login_and_a_code_good_once(portal: Portal) -> None:
    username, token = portal.new_user("totp")
    enrolled = _enrol(portal, token)  # spends the current step
    first = _login(portal, username)
    assert first.status_code == 200
    assert first.json()["mfa_required"] is True
    assert not _session_cookie(first)  # no session before the second step
    mfa_token = first.json()["mfa_token"]
    assert _second_step(portal, mfa_token, "123456").status_code == 401
    # The code the enrolment used is spent: a replay is refused.
    assert _second_step(portal, mfa_token, enrolled.first_code).status_code == 401
    code = _code(enrolled.app, 1)
    done = _second_step(portal, mfa_token, code)
    assert done.status_code == 200, done.text
    assert _session_cookie(done) and done.json()["username"] == username
    # The challenge is spent too, and so is that code, even in a fresh login.
    assert _second_step(portal, mfa_token, code).status_code == 401
    fresh = _login(portal, username).json()["mfa_token"]
    assert _second_step(portal, fresh, code).status_code == 401


def test_recovery_codes_work_once_each(portal: Portal) -> None:
    username, token = portal.new_user("totp")
    enrolled = _enrol(portal, token)
    mfa_token = _login(portal, username).json()["mfa_token"]
    assert _second_step(portal, mfa_token, enrolled.recovery_codes[3].upper()).status_code == 200
    mfa_token = _login(portal, username).json()["mfa_token"]
    assert _second_step(portal, mfa_token, enrolled.recovery_codes[3]).status_code == 401
    assert _second_step(portal, mfa_token, enrolled.recovery_codes[4]).status_code == 200


def test_the_token_endpoint_takes_totp(portal: Portal) -> None:
    username, token = portal.new_user("totp")
    enrolled = _enrol(portal, token)
    missing = _token(portal, username)
    assert missing.status_code == 401 and missing.json()["code"] == "mfa_required"
    assert _token(portal, username, "000000").status_code == 401
    code = _code(enrolled.app, 1)
    issued = _token(portal, username, code)
    assert issued.status_code == 200, issued.text
    me = portal.http.get(f"{portal.auth}/api/me", headers=bearer(issued.json()["access_token"]))
    assert me.status_code == 200 and me.json()["username"] == username
    # Replayed in the token endpoint: refused as well.
    assert _token(portal, username, code).status_code == 401


def test_wrong_codes_are_rate_limited(portal: Portal) -> None:
    username, token = portal.new_user("totp")
    enrolled = _enrol(portal, token)
    mfa_token = _login(portal, username).json()["mfa_token"]
    for _ in range(LOGIN_MAX_FAILURES):
        assert _second_step(portal, mfa_token, "000000").status_code == 401
    limited = _second_step(portal, mfa_token, _code(enrolled.app, 1))  # even the right one now
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert _token(portal, username, _code(enrolled.app, 1)).status_code == 429


def test_turning_it_off_needs_a_code(portal: Portal) -> None:
    username, token = portal.new_user("totp")
    enrolled = _enrol(portal, token)
    url = f"{portal.auth}/api/me/totp"
    wrong = portal.http.request("DELETE", url, json={"code": "000000"}, headers=bearer(token))
    assert wrong.status_code == 400
    off = portal.http.request(
        "DELETE", url, json={"code": enrolled.recovery_codes[0]}, headers=bearer(token)
    )
    assert off.status_code == 204, off.text
    login = _login(portal, username)
    assert login.status_code == 200 and "mfa_required" not in login.json()
    assert _session_cookie(login)
    assert not [r for r in portal.rows("recovery_codes") if r["username"] == username]


def test_admins_reset_second_factors(portal: Portal) -> None:
    username, token = portal.new_user("totp")
    _enrol(portal, token)
    assert _token(portal, username).status_code == 401
    url = f"{portal.auth}/api/users/{username}/mfa"
    assert portal.http.delete(url, headers=bearer(token)).status_code == 403  # not an admin
    assert portal.http.delete(url, headers=portal.admin()).status_code == 204
    assert _token(portal, username).status_code == 200
    missing = f"{portal.auth}/api/users/nobody-here/mfa"
    assert portal.http.delete(missing, headers=portal.admin()).status_code == 404


def test_an_unknown_mfa_token_is_refused(portal: Portal) -> None:
    assert _second_step(portal, "not-a-token", "123456").status_code == 401
