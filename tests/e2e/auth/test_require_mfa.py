"""FILEBAY_REQUIRE_MFA=admins (DESIGN §8.4): an admin without a second factor is let in
only to set one up; once confirmed, a full session takes the place of the restricted one.
Users who are not admins are not asked."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pyotp
import pytest

from tests.e2e.auth.support import Portal, running_portal
from tests.harness.http import ADMIN, ADMIN_PASSWORD, PASSWORD, bearer

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module", params=["all", "split"])
def portal(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_url: str
) -> Iterator[Portal]:
    shape: str = request.param
    data_dir = tmp_path_factory.mktemp(f"require-mfa-{shape}")
    with running_portal(shape, data_dir, pg_url, {"FILEBAY_REQUIRE_MFA": "admins"}) as running:
        yield running


def test_an_admin_must_enrol_before_anything_else(portal: Portal) -> None:
    http = portal.http
    form = {"username": ADMIN, "password": ADMIN_PASSWORD}
    issued = http.post(f"{portal.auth}/api/auth/token", data=form)
    assert issued.status_code == 200, issued.text
    assert issued.json()["mfa_enrol_required"] is True
    restricted = bearer(issued.json()["access_token"])
    # Everything but enrolment is refused, on every service.
    for url in (f"{portal.metadata}/api/files", f"{portal.auth}/api/users"):
        refused = http.get(url, headers=restricted)
        assert refused.status_code == 403, (url, refused.text)
        assert refused.json()["code"] == "mfa_enrolment_required"
    assert http.get(f"{portal.auth}/api/me", headers=restricted).status_code == 200
    status = http.get(f"{portal.auth}/api/me/totp", headers=restricted).json()
    assert status == {"enabled": False, "required": True}
    secret = http.post(f"{portal.auth}/api/me/totp", headers=restricted).json()["secret"]
    app = pyotp.TOTP(secret)
    confirmed = http.post(
        f"{portal.auth}/api/me/totp/confirm", json={"code": app.now()}, headers=restricted
    )
    assert confirmed.status_code == 200, confirmed.text
    full = bearer(confirmed.json()["access_token"])
    assert http.get(f"{portal.metadata}/api/files", headers=full).status_code == 200
    assert http.get(f"{portal.auth}/api/me", headers=restricted).status_code == 401
    # Required: it cannot be turned off (an admin can still reset it for someone).
    off = http.request(
        "DELETE",
        f"{portal.auth}/api/me/totp",
        json={"code": confirmed.json()["recovery_codes"][0]},
        headers=full,
    )
    assert off.status_code == 403
    # From now on the admin logs in with a code, and the harness acts as that admin.
    again = http.post(
        f"{portal.auth}/api/auth/token", data={**form, "totp": app.at(time.time() + 30)}
    )
    assert again.status_code == 200, again.text
    assert "mfa_enrol_required" not in again.json()
    portal._admin_token = again.json()["access_token"]
    # A user who is not an admin is not asked.
    portal.add_user("plain-user")
    plain = http.post(
        f"{portal.auth}/api/auth/login", json={"username": "plain-user", "password": PASSWORD}
    )
    assert plain.status_code == 200 and "mfa_enrol_required" not in plain.json()


def test_a_browser_login_is_sent_to_enrolment(portal: Portal) -> None:
    portal.add_user("second-admin", role="admin")
    login = portal.http.post(
        f"{portal.auth}/api/auth/login", json={"username": "second-admin", "password": PASSWORD}
    )
    assert login.status_code == 200
    assert login.json()["mfa_enrol_required"] is True
    cookies = {
        c.split("=", 1)[0]: c.split("=", 1)[1].split(";")[0]
        for c in login.headers.get_list("set-cookie")
    }
    page = portal.http.get(
        f"{portal.auth}/account/security",
        cookies={"filebay_session": cookies["filebay_session"]},
        headers={"accept": "text/html"},
    )
    assert page.status_code == 200 and 'id="enrol-required"' in page.text
    home = portal.http.get(
        f"{portal.upload}/",
        cookies={"filebay_session": cookies["filebay_session"]},
        headers={"accept": "text/html"},
    )
    assert home.status_code == 403
