"""Shutting an intruder out without deleting the account, a deleted user's unfinished uploads,
and the one quota rule (bytes, files, unfinished uploads) on every upload path, in both
shapes, through real servers.

The intruder holds alice's password and an API token made with it; the admin answers with a
password reset, or disables and later enables the account, and reviews its tokens."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tests.e2e.auth.support import REVOCATION_BOUND, Portal, wait_all_status
from tests.e2e.auth.test_users import SQLITE_ONLY, _ok
from tests.harness.http import PASSWORD, bearer, unique
from tests.harness.waiting import wait_until

TUS = {"Tus-Resumable": "1.0.0"}


def _tokens(portal: Portal, username: str, headers: dict[str, str] | None = None) -> Any:
    return portal.http.get(
        f"{portal.auth}/api/users/{username}/tokens", headers=headers or portal.admin()
    )


def _tus_create(portal: Portal, token: str, length: int, name: str = "park.bin") -> httpx.Response:
    meta = f"filename {base64.b64encode(name.encode()).decode()}"
    headers = {**TUS, **bearer(token), "Upload-Length": str(length), "Upload-Metadata": meta}
    return portal.http.post(f"{portal.upload}/api/tus/", headers=headers)


def _tus_url(portal: Portal, response: httpx.Response) -> str:
    assert response.status_code == 201, response.text
    location = response.headers["location"]
    return location if location.startswith("http") else f"{portal.upload}{location}"


def _tus_patch(portal: Portal, token: str, url: str, offset: int, data: bytes) -> httpx.Response:
    headers = {
        **TUS,
        **bearer(token),
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
    }
    return portal.http.patch(url, content=data, headers=headers)


def _me(portal: Portal, token: str) -> Any:
    return lambda: portal.http.get(f"{portal.auth}/api/me", headers=bearer(token))


# --- an admin shuts an intruder out -----------------------------------------------------------


def test_an_admin_password_reset_ends_the_users_api_tokens(portal: Portal) -> None:
    username, jwt = portal.new_user("reset")
    record = portal.put(jwt, "mine.txt", b"mine")
    intruder = portal.new_api_token(jwt, "intruder")["token"]
    for service, probe in portal.probes(bearer(intruder), record["id"]).items():
        assert probe().status_code == 200, service
    assert portal.patch_user(username, password="a brand new password").status_code == 200
    wait_all_status(portal.probes(bearer(intruder), record["id"]), 401, REVOCATION_BOUND)
    assert _tokens(portal, username).json()["items"] == []


def test_disable_then_enable_does_not_bring_a_token_back(portal: Portal) -> None:
    username, jwt = portal.new_user("toggle")
    record = portal.put(jwt, "mine.txt", b"mine")
    intruder = portal.new_api_token(jwt, "intruder")["token"]
    assert portal.patch_user(username, disabled=True).status_code == 200
    wait_all_status(portal.probes(bearer(intruder), record["id"]), 401, REVOCATION_BOUND)
    assert portal.patch_user(username, disabled=False).status_code == 200
    # The account is back (its password logs in); the token it had is not.
    fresh = portal.login(username)
    assert portal.http.get(f"{portal.auth}/api/me", headers=bearer(fresh)).status_code == 200
    for service, probe in portal.probes(bearer(intruder), record["id"]).items():
        assert probe().status_code == 401, service


def test_admins_list_and_revoke_any_users_tokens(portal: Portal) -> None:
    username, jwt = portal.new_user("tokens")
    record = portal.put(jwt, "mine.txt", b"mine")
    made = [portal.new_api_token(jwt, f"t{i}") for i in range(3)]
    listed = _tokens(portal, username)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert {t["name"] for t in items} == {"t0", "t1", "t2"}
    assert all("token" not in t and t["username"] == username for t in items)
    # One, then the rest.
    gone = portal.http.delete(
        f"{portal.auth}/api/users/{username}/tokens/{made[0]['id']}", headers=portal.admin()
    )
    assert gone.status_code == 204
    wait_all_status(portal.probes(bearer(made[0]["token"]), record["id"]), 401, REVOCATION_BOUND)
    assert portal.probes(bearer(made[1]["token"]), record["id"])["auth"]().status_code == 200
    every = portal.http.delete(f"{portal.auth}/api/users/{username}/tokens", headers=portal.admin())
    assert every.status_code == 200 and every.json() == {"revoked": 2}
    for left in made[1:]:
        wait_all_status(portal.probes(bearer(left["token"]), record["id"]), 401, REVOCATION_BOUND)
    assert _tokens(portal, username).json()["items"] == []
    # The user's own session goes on: revoking tokens is not a lockout.
    assert portal.http.get(f"{portal.auth}/api/me", headers=bearer(jwt)).status_code == 200


def test_token_admin_is_for_admins_and_knows_its_users(portal: Portal) -> None:
    username, jwt = portal.new_user("plain")
    other, _ = portal.new_user("other")
    token = portal.new_api_token(jwt, "mine")
    assert _tokens(portal, other, bearer(jwt)).status_code == 403
    revoke = portal.http.delete(
        f"{portal.auth}/api/users/{username}/tokens/{token['id']}", headers=bearer(jwt)
    )
    assert revoke.status_code == 403
    assert _tokens(portal, "no-such-user").status_code == 404
    assert (
        portal.http.delete(
            f"{portal.auth}/api/users/no-such-user/tokens", headers=portal.admin()
        ).status_code
        == 404
    )
    # Another user's token id under this user's name is not found, and stays valid.
    wrong = portal.http.delete(
        f"{portal.auth}/api/users/{other}/tokens/{token['id']}", headers=portal.admin()
    )
    assert wrong.status_code == 404
    assert (
        portal.http.get(f"{portal.auth}/api/me", headers=bearer(token["token"])).status_code == 200
    )


def test_a_disabled_owners_share_links_answer_404_until_enabled(portal: Portal) -> None:
    username, jwt = portal.new_user("sharer")
    record = portal.put(jwt, "shared.txt", b"shared bytes")
    made = portal.http.post(
        f"{portal.metadata}/api/files/{record['id']}/shares", json={}, headers=bearer(jwt)
    )
    assert made.status_code == 201, made.text
    link = f"{portal.download}{made.json()['url']}"

    def statuses() -> tuple[int, int]:
        page = portal.http.get(link)
        content = portal.http.get(f"{link}/content", headers={"Range": "bytes=0-3"})
        return page.status_code, content.status_code

    assert statuses() == (200, 206)
    assert portal.patch_user(username, disabled=True).status_code == 200
    wait_until(lambda: statuses() == (404, 404), REVOCATION_BOUND, "share links answer 404")
    head = portal.http.head(f"{link}/content")
    assert head.status_code == 404
    assert portal.patch_user(username, disabled=False).status_code == 200
    wait_until(lambda: statuses() == (200, 206), REVOCATION_BOUND, "share links answer again")


@SQLITE_ONLY
def test_shell_lists_and_revokes_a_users_tokens(portal: Portal) -> None:
    username, jwt = portal.new_user("shelltok")
    made = [portal.new_api_token(jwt, f"cli{i}") for i in range(3)]
    listing = _ok(portal.cli("user", "tokens", username))
    assert all(t["id"] in listing and t["name"] in listing for t in made)
    assert all(t["token"] not in listing for t in made)  # never the secrets
    out = _ok(portal.cli("user", "tokens", username, "--revoke", made[0]["id"]))
    assert "revoked 1" in out
    out = _ok(portal.cli("user", "tokens", username, "--all"))
    assert "revoked 2" in out
    assert _tokens(portal, username).json()["items"] == []
    unknown = portal.cli("user", "tokens", username, "--revoke", made[0]["id"])
    assert unknown.returncode == 1 and "no such token" in unknown.stderr
    nobody = portal.cli("user", "tokens", "no-such-user")
    assert nobody.returncode == 1 and "no such user" in nobody.stderr
    for token in made:
        me = portal.http.get(f"{portal.auth}/api/me", headers=bearer(token["token"]))
        wait_until(
            lambda t=token: (
                portal.http.get(f"{portal.auth}/api/me", headers=bearer(t["token"])).status_code
                == 401
            ),
            REVOCATION_BOUND,
            "revoked token refused",
        )
        del me


# --- a deleted user's unfinished uploads ------------------------------------------------------


def test_a_deleted_users_unfinished_upload_dies_with_the_account(portal: Portal) -> None:
    username = unique("carol")
    portal.add_user(username, quota_bytes=1000)
    old = portal.login(username)
    url = _tus_url(portal, _tus_create(portal, old, 900))
    patch = _tus_patch(portal, old, url, 0, b"o" * 400)
    assert patch.status_code == 204, patch.text
    upload_id = url.rstrip("/").rsplit("/", 1)[-1]
    staged = portal.data_dir / "staging" / upload_id
    assert staged.is_file()
    assert (
        portal.http.delete(f"{portal.auth}/api/users/{username}", headers=portal.admin())
    ).status_code == 204
    portal.add_user(username, quota_bytes=1000)
    new = portal.login(username)
    head = portal.http.head(url, headers={**TUS, **bearer(new)})
    assert head.status_code == 404, head.status_code
    finish = _tus_patch(portal, new, url, 400, b"n" * 500)
    assert finish.status_code == 404, finish.text
    upload_id = url.rstrip("/").rsplit("/", 1)[-1]
    content = portal.http.get(
        f"{portal.download}/api/files/{upload_id}/content", headers=bearer(new)
    )
    assert content.status_code == 404
    # The new account's quota is whole: an upload of all of it is accepted.
    assert _tus_create(portal, new, 1000).status_code == 201


# --- one quota rule on every path -------------------------------------------------------------


def _put(portal: Portal, token: str, name: str, data: bytes) -> httpx.Response:
    return portal.http.put(
        f"{portal.upload}/api/upload/{name}", content=data, headers=bearer(token)
    )


def _multipart(portal: Portal, token: str, name: str, data: bytes) -> httpx.Response:
    return portal.http.post(
        f"{portal.upload}/api/files", files={"file": (name, data)}, headers=bearer(token)
    )


def _refused(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "quota_exceeded"


def _names(portal: Portal, token: str) -> list[str]:
    listed = portal.http.get(f"{portal.metadata}/api/files", headers=bearer(token))
    return sorted(item["name"] for item in listed.json()["items"])


def test_a_full_quota_stops_empty_files_on_every_path(portal: Portal) -> None:
    _user, token = portal.new_user("full", quota_bytes=100)
    assert _put(portal, token, "all.bin", b"x" * 100).status_code == 201
    _refused(_put(portal, token, "empty.txt", b""))
    _refused(_multipart(portal, token, "empty.txt", b""))
    _refused(_tus_create(portal, token, 0))
    assert _names(portal, token) == ["all.bin"]


def test_the_file_count_quota_holds_on_every_path(portal: Portal) -> None:
    username, token = portal.new_user("count")
    changed = portal.patch_user(username, quota_files=3)
    assert changed.status_code == 200 and changed.json()["quota_files"] == 3
    wait_until(
        lambda: (
            portal.http.get(f"{portal.auth}/api/me", headers=bearer(token)).json()["quota_files"]
            == 3
        ),
        REVOCATION_BOUND,
        "the new quota seen",
    )
    assert _put(portal, token, "a.txt", b"a").status_code == 201
    assert _multipart(portal, token, "b.txt", b"b").status_code == 201
    url = _tus_url(portal, _tus_create(portal, token, 5))  # an unfinished upload counts
    _refused(_put(portal, token, "d.txt", b"d"))
    _refused(_multipart(portal, token, "d.txt", b"d"))
    _refused(_tus_create(portal, token, 1))
    # Finishing the parked upload is not a fourth file.
    done = _tus_patch(portal, token, url, 0, b"ccccc")
    assert done.status_code == 204, done.text
    assert _names(portal, token) == ["a.txt", "b.txt", "park.bin"]
    # Bad values are refused; null lifts the limit.
    assert portal.patch_user(username, quota_files=-1).status_code in (400, 422)
    assert portal.patch_user(username, quota_files=None).json()["quota_files"] is None


def test_plain_uploads_count_bytes_held_by_unfinished_resumable_ones(portal: Portal) -> None:
    _user, token = portal.new_user("parked", quota_bytes=1000)
    _tus_url(portal, _tus_create(portal, token, 999))  # 999 bytes held, none sent yet
    _refused(_put(portal, token, "two.bin", b"22"))
    _refused(_multipart(portal, token, "two.bin", b"22"))
    assert _put(portal, token, "one.bin", b"1").status_code == 201  # 999 + 1 fits exactly
    _refused(_put(portal, token, "zero.bin", b""))  # and now it is full
    assert _names(portal, token) == ["one.bin"]


@pytest.mark.parametrize("portal", ["all"], indirect=True)
def test_shell_sets_a_file_count_quota(portal: Portal) -> None:
    username = unique("shellq")
    _ok(portal.cli("user", "add", username, "--password", PASSWORD, "--quota-files", "1"))
    assert portal.users()[username]["quota_files"] == 1
    token = portal.login(username)
    assert _put(portal, token, "one.txt", b"1").status_code == 201
    _refused(_put(portal, token, "two.txt", b"2"))
    listing = _ok(portal.cli("user", "list"))
    assert any(username in line and " 1 " in f" {line} " for line in listing.splitlines())
