"""User administration: over the API (admins only) and on the shell (``filebay user
add|list|passwd|disable|enable|del`` against a running deployment's data: FILEBAY_DATA_DIR,
and FILEBAY_DATABASE_URL in the split shape); and storage quotas."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.auth.support import REVOCATION_BOUND, Portal, wait_all_status
from tests.harness.http import ADMIN, ADMIN_PASSWORD, PASSWORD, bearer, unique
from tests.harness.waiting import wait_until


def _create(portal: Portal, **body: Any) -> Any:
    return portal.http.post(f"{portal.auth}/api/users", json=body, headers=portal.admin())


def _token_status(portal: Portal, username: str, password: str) -> int:
    return portal.http.post(
        f"{portal.auth}/api/auth/token", data={"username": username, "password": password}
    ).status_code


# --- creating users -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "username",
    ["", "has space", "../etc", "a/b", "-leading-dash", "x" * 65, "ünïcode", "nul\x00"],
    ids=["empty", "space", "dots", "slash", "dash", "too long", "unicode", "nul"],
)
def test_bad_usernames_are_refused(portal: Portal, username: str) -> None:
    response = _create(portal, username=username, password=PASSWORD)
    assert response.status_code in (400, 422), response.text
    assert username not in portal.users()


@pytest.mark.parametrize("password", ["", "short", "1234567"])
def test_short_passwords_are_refused(portal: Portal, password: str) -> None:
    username = unique("shortpw")
    response = _create(portal, username=username, password=password)
    assert response.status_code == 400, response.text
    assert username not in portal.users()


def test_bad_role_and_quota_are_refused(portal: Portal) -> None:
    username = unique("badrole")
    assert _create(portal, username=username, password=PASSWORD, role="root").status_code == 400
    negative = _create(portal, username=username, password=PASSWORD, quota_bytes=-1)
    assert negative.status_code == 422
    assert username not in portal.users()


def test_create_list_and_duplicate(portal: Portal) -> None:
    username = unique("Carol")
    response = _create(portal, username=username, password=PASSWORD, quota_bytes=1234)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["username"] == username
    assert created["role"] == "user"
    assert created["quota_bytes"] == 1234
    assert created["disabled"] is False
    assert not {"password", "password_hash"} & set(created)

    duplicate = _create(portal, username=username, password="another-password")
    assert duplicate.status_code == 409
    assert duplicate.json()["detail"] == f"user {username!r} exists"
    # The first account is untouched by the refused duplicate.
    assert portal.login(username)

    listing = portal.http.get(f"{portal.auth}/api/users", headers=portal.admin())
    assert listing.status_code == 200
    users = {u["username"]: u for u in listing.json()["items"]}
    assert users[username]["quota_bytes"] == 1234
    assert users[ADMIN]["role"] == "admin"
    assert "argon2" not in listing.text and PASSWORD not in listing.text


# --- changing users -------------------------------------------------------------------------


def test_role_change_takes_effect(portal: Portal) -> None:
    username, token = portal.new_user("promoted")
    users_url = f"{portal.auth}/api/users"
    assert portal.http.get(users_url, headers=bearer(token)).status_code == 403

    response = portal.patch_user(username, role="admin")
    assert response.status_code == 200 and response.json()["role"] == "admin"
    # The auth service, which made the change, knows at once; the others within the bound.
    assert portal.http.get(users_url, headers=bearer(token)).status_code == 200
    _other, other_token = portal.new_user("someone")
    theirs = portal.put(other_token, "theirs.txt", b"t")
    url = f"{portal.metadata}/api/files/{theirs['id']}"
    wait_until(
        lambda: portal.http.get(url, headers=bearer(token)).status_code == 200,
        REVOCATION_BOUND,
        "the new admin sees others' files",
    )

    response = portal.patch_user(username, role="user")
    assert response.status_code == 200 and response.json()["role"] == "user"
    assert portal.http.get(users_url, headers=bearer(token)).status_code == 403
    wait_until(
        lambda: portal.http.get(url, headers=bearer(token)).status_code == 404,
        REVOCATION_BOUND,
        "the demoted admin no longer sees others' files",
    )
    assert portal.patch_user(username, role="superuser").status_code == 400


@pytest.mark.parametrize("password", ["", "short"])
def test_a_short_new_password_is_refused(portal: Portal, password: str) -> None:
    username, _token = portal.new_user("newpw")
    response = portal.patch_user(username, password=password)
    assert response.status_code == 400, response.text
    assert portal.login(username)  # the old password still works


def test_quota_change_and_removal(portal: Portal) -> None:
    username, token = portal.new_user("requota")
    portal.put(token, "a.bin", b"a" * 100)
    response = portal.patch_user(username, quota_bytes=50)
    assert response.status_code == 200 and response.json()["quota_bytes"] == 50

    def upload_status() -> int:
        return portal.http.put(
            f"{portal.upload}/api/upload/b.bin", content=b"b", headers=bearer(token)
        ).status_code

    wait_until(lambda: upload_status() == 413, REVOCATION_BOUND, "the lower quota applies")
    # PATCH without quota_bytes leaves it; an explicit null removes it.
    assert portal.patch_user(username, disabled=False).json()["quota_bytes"] == 50
    assert portal.patch_user(username, quota_bytes=None).json()["quota_bytes"] is None
    wait_until(lambda: upload_status() == 201, REVOCATION_BOUND, "no quota any more")


def test_unknown_user_is_404(portal: Portal) -> None:
    assert portal.patch_user("no-such-user", disabled=True).status_code == 404
    response = portal.http.delete(f"{portal.auth}/api/users/no-such-user", headers=portal.admin())
    assert response.status_code == 404


def test_disable_refuses_logins(portal: Portal) -> None:
    username, _token = portal.new_user("off")
    assert portal.patch_user(username, disabled=True).status_code == 200
    response = portal.http.post(
        f"{portal.auth}/api/auth/token", data={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 401
    assert portal.users()[username]["disabled"] is True


def test_a_user_created_disabled_cannot_log_in_until_enabled(portal: Portal) -> None:
    username = unique("later")
    response = _create(portal, username=username, password=PASSWORD, disabled=True)
    assert response.status_code == 201, response.text
    assert response.json()["disabled"] is True
    assert _token_status(portal, username, PASSWORD) == 401
    assert portal.patch_user(username, disabled=False).status_code == 200
    assert _token_status(portal, username, PASSWORD) == 200


def test_names_that_differ_only_in_case_are_one_name(portal: Portal) -> None:
    """ "Admin" beside "admin" would be a look-alike an admin could trust by mistake."""
    username = unique("casey")
    assert _create(portal, username=username, password=PASSWORD).status_code == 201
    for look_alike in (username.upper(), username.capitalize()):
        response = _create(portal, username=look_alike, password=PASSWORD, role="admin")
        assert response.status_code == 409
        assert response.json()["detail"] == f"user {username!r} exists"
        assert look_alike not in portal.users()
    assert _create(portal, username=ADMIN.upper(), password=PASSWORD).status_code == 409


def test_a_duplicate_of_a_user_with_files_is_named_as_a_duplicate(portal: Portal) -> None:
    """Not as a deleted account whose files are still being removed (nobody was deleted)."""
    username, token = portal.new_user("owner")
    portal.put(token, "mine.txt", b"mine")
    duplicate = _create(portal, username=username, password="another-password")
    assert duplicate.status_code == 409
    assert duplicate.json()["detail"] == f"user {username!r} exists"


def test_delete_user_deletes_their_files_and_blobs(portal: Portal) -> None:
    username, token = portal.new_user("leaver")
    stayer, stayer_token = portal.new_user("stayer")
    blobs_before = portal.blob_files()
    mine = [portal.put(token, f"f{i}.txt", b"leaving %d" % i) for i in range(3)]
    kept = portal.put(stayer_token, "kept.txt", b"kept")
    new_blobs = portal.blob_files() - blobs_before
    assert {p.name for p in new_blobs} == {r["id"] for r in [*mine, kept]}

    response = portal.http.delete(f"{portal.auth}/api/users/{username}", headers=portal.admin())
    assert response.status_code == 204
    assert username not in portal.users()
    for record in mine:
        url = f"{portal.metadata}/api/files/{record['id']}"
        assert portal.http.get(url, headers=portal.admin()).status_code == 404
    remaining = {p.name for p in portal.blob_files()}
    assert not {r["id"] for r in mine} & remaining, "a deleted user's blobs are left behind"
    assert kept["id"] in remaining
    assert not any(row["owner"] == username for row in portal.rows("files"))
    # The other user keeps everything.
    got = portal.http.get(
        f"{portal.download}/api/files/{kept['id']}/content", headers=bearer(stayer_token)
    )
    assert got.content == b"kept"
    assert stayer in portal.users()


# --- the last admin -------------------------------------------------------------------------


def test_the_last_enabled_admin_cannot_be_removed(portal: Portal) -> None:
    admins = [u for u, v in portal.users().items() if v["role"] == "admin" and not v["disabled"]]
    assert admins == [ADMIN], "this test needs the first admin to be the only one"

    assert portal.patch_user(ADMIN, role="user").status_code == 409
    assert portal.patch_user(ADMIN, disabled=True).status_code == 409
    response = portal.http.delete(f"{portal.auth}/api/users/{ADMIN}", headers=portal.admin())
    assert response.status_code == 409
    assert portal.users()[ADMIN]["role"] == "admin"

    # With a second admin, either may go; a disabled admin does not count.
    second = unique("admin2")
    portal.add_user(second, role="admin")
    assert portal.patch_user(second, disabled=True).status_code == 200
    assert portal.patch_user(ADMIN, role="user").status_code == 409
    assert portal.patch_user(second, disabled=False).status_code == 200
    second_token = portal.login(second)
    # The second admin demotes the first, and then cannot demote themselves.
    first = portal.http.patch(
        f"{portal.auth}/api/users/{ADMIN}", json={"role": "user"}, headers=bearer(second_token)
    )
    assert first.status_code == 200
    itself = portal.http.patch(
        f"{portal.auth}/api/users/{second}", json={"role": "user"}, headers=bearer(second_token)
    )
    assert itself.status_code == 409
    restore = portal.http.patch(
        f"{portal.auth}/api/users/{ADMIN}", json={"role": "admin"}, headers=bearer(second_token)
    )
    assert restore.status_code == 200
    deleted = portal.http.delete(f"{portal.auth}/api/users/{second}", headers=portal.admin())
    assert deleted.status_code == 204
    assert portal.login(ADMIN, ADMIN_PASSWORD)


# --- quotas ---------------------------------------------------------------------------------

QUOTA = 1000
USED = 600


@pytest.fixture
def quota_user(portal: Portal) -> Iterator[tuple[str, str]]:
    """A user with a 1000-byte quota who has used 600 of it."""
    username = unique("quota")
    portal.add_user(username, quota_bytes=QUOTA)
    token = portal.login(username)
    portal.put(token, "used.bin", b"u" * USED)
    yield username, token


def _assert_nothing_stored(portal: Portal, token: str, blobs: set[Any]) -> None:
    me = portal.http.get(f"{portal.auth}/api/me", headers=bearer(token)).json()
    assert me["used_bytes"] == USED
    assert me["quota_bytes"] == QUOTA
    listed = portal.http.get(f"{portal.metadata}/api/files", headers=bearer(token)).json()
    assert [item["name"] for item in listed["items"]] == ["used.bin"]
    assert portal.blob_files() == blobs, "a refused upload left a blob"
    wait_until(lambda: not portal.temp_files(), 5, "temp files removed")


def _assert_quota_answer(response: Any) -> None:
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "quota_exceeded"


def test_raw_put_with_length_over_quota(portal: Portal, quota_user: tuple[str, str]) -> None:
    _username, token = quota_user
    blobs = portal.blob_files()
    response = portal.http.put(
        f"{portal.upload}/api/upload/big.bin", content=b"x" * 500, headers=bearer(token)
    )
    _assert_quota_answer(response)
    _assert_nothing_stored(portal, token, blobs)


def test_chunked_put_over_quota(portal: Portal, quota_user: tuple[str, str]) -> None:
    _username, token = quota_user
    blobs = portal.blob_files()

    def body() -> Iterator[bytes]:
        for _ in range(5):
            yield b"y" * 100

    response = portal.http.put(
        f"{portal.upload}/api/upload/chunked.bin", content=body(), headers=bearer(token)
    )
    assert "content-length" not in response.request.headers
    _assert_quota_answer(response)
    _assert_nothing_stored(portal, token, blobs)


def test_multipart_files_together_over_quota(portal: Portal, quota_user: tuple[str, str]) -> None:
    """Each part fits the 400 bytes left; both together do not: neither is kept."""
    _username, token = quota_user
    blobs = portal.blob_files()
    response = portal.http.post(
        f"{portal.upload}/api/files",
        files=[("file", ("one.bin", b"1" * 300)), ("file", ("two.bin", b"2" * 300))],
        headers=bearer(token),
    )
    _assert_quota_answer(response)
    _assert_nothing_stored(portal, token, blobs)


def test_upload_exactly_filling_the_quota_is_accepted(
    portal: Portal, quota_user: tuple[str, str]
) -> None:
    _username, token = quota_user
    record = portal.put(token, "fill.bin", b"f" * (QUOTA - USED))
    assert record["size"] == QUOTA - USED
    response = portal.http.put(
        f"{portal.upload}/api/upload/one-more.bin", content=b"!", headers=bearer(token)
    )
    _assert_quota_answer(response)
    # The trash still counts (DESIGN §8.2); deleting for good frees the space again.
    trashed = portal.http.delete(
        f"{portal.metadata}/api/files/{record['id']}", headers=bearer(token)
    )
    assert trashed.status_code == 204
    _assert_quota_answer(
        portal.http.put(
            f"{portal.upload}/api/upload/one-more.bin", content=b"!", headers=bearer(token)
        )
    )
    deleted = portal.http.delete(
        f"{portal.metadata}/api/trash/{record['id']}", headers=bearer(token)
    )
    assert deleted.status_code == 204
    assert portal.put(token, "one-more.bin", b"!")["size"] == 1


def test_quota_is_the_owners_not_the_uploaders(portal: Portal) -> None:
    """Users without a quota are not limited by another user's."""
    _username, token = portal.new_user("unlimited")
    assert portal.put(token, "big.bin", b"z" * 5000)["size"] == 5000


# --- the shell: filebay user ... -------------------------------------------------------------

# Checks whose outcome does not depend on the shape run once, against the SQLite deployment.
SQLITE_ONLY = pytest.mark.parametrize("portal", ["all"], indirect=True)


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result
    return result.stdout


def test_shell_add_and_log_in(portal: Portal) -> None:
    username = unique("shell")
    out = _ok(portal.cli("user", "add", username, "--password", PASSWORD, "--quota-mib", "2"))
    assert f"created user {username}" in out
    # The running server sees the new user at once.
    token = portal.login(username)
    me = portal.http.get(f"{portal.auth}/api/me", headers=bearer(token)).json()
    assert me["role"] == "user" and me["quota_bytes"] == 2 * 1024 * 1024


@SQLITE_ONLY
def test_shell_list_admin_flag_and_duplicate(portal: Portal) -> None:
    # The last enabled admin stays (the API tests cover disable and demote as well).
    last = portal.cli("user", "del", ADMIN, "--yes")
    assert last.returncode == 1 and "last enabled admin" in last.stderr, last
    assert _token_status(portal, ADMIN, ADMIN_PASSWORD) == 200

    boss = unique("boss")
    _ok(portal.cli("user", "add", boss, "--password", PASSWORD, "--admin"))
    assert portal.users()[boss]["role"] == "admin"

    listing = _ok(portal.cli("user", "list"))
    rows = listing.splitlines()
    row = {name: next(line for line in rows if name in line) for name in (ADMIN, boss)}
    assert "admin" in row[boss] and "active" in row[boss]
    assert "admin" in row[ADMIN]

    duplicate = portal.cli("user", "add", boss, "--password", "another-password")
    assert duplicate.returncode == 1
    assert "error" in duplicate.stderr and "exists" in duplicate.stderr
    assert portal.login(boss)  # the first account is untouched


@SQLITE_ONLY
def test_shell_bad_input_is_refused(portal: Portal) -> None:
    bad_name = portal.cli("user", "add", "no/slashes", "--password", PASSWORD)
    assert bad_name.returncode == 1 and "username" in bad_name.stderr
    short = portal.cli("user", "add", unique("short"), "--password", "short")
    assert short.returncode == 1 and "password" in short.stderr
    unknown = portal.cli("user", "passwd", "no-such-user", "--password", PASSWORD)
    assert unknown.returncode == 1 and "no such user" in unknown.stderr
    empty = portal.cli("user", "passwd", ADMIN, "--password", "")
    assert empty.returncode == 1 and "password" in empty.stderr, empty
    assert "changed" not in empty.stdout
    assert _token_status(portal, ADMIN, ADMIN_PASSWORD) == 200
    assert "Traceback" not in bad_name.stderr + short.stderr + unknown.stderr + empty.stderr


def test_shell_passwd_ends_sessions_on_every_service(portal: Portal) -> None:
    username, token = portal.new_user("shellpw")
    api_token = portal.new_api_token(token)["token"]
    record = portal.put(token, "f.txt", b"f")
    for service, probe in portal.probes(bearer(token), record["id"]).items():
        assert probe().status_code == 200, service

    out = _ok(portal.cli("user", "passwd", username, "--password", "the-new-password"))
    assert "sessions and API tokens are ended" in out
    changed = time.monotonic()
    probes = {
        **{f"jwt {k}": v for k, v in portal.probes(bearer(token), record["id"]).items()},
        **{f"token {k}": v for k, v in portal.probes(bearer(api_token), record["id"]).items()},
    }
    wait_all_status(probes, 401, since=changed)
    assert _token_status(portal, username, PASSWORD) == 401
    assert _token_status(portal, username, "the-new-password") == 200


def test_shell_disable_and_enable(portal: Portal) -> None:
    username, token = portal.new_user("shelloff")
    api_token = portal.new_api_token(token)["token"]
    record = portal.put(token, "f.txt", b"f")
    for service, probe in portal.probes(bearer(api_token), record["id"]).items():
        assert probe().status_code == 200, service

    _ok(portal.cli("user", "disable", username))
    disabled = time.monotonic()
    probes = {
        **{f"jwt {k}": v for k, v in portal.probes(bearer(token), record["id"]).items()},
        **{f"token {k}": v for k, v in portal.probes(bearer(api_token), record["id"]).items()},
    }
    took = wait_all_status(probes, 401, since=disabled)
    assert max(took.values()) <= REVOCATION_BOUND
    assert _token_status(portal, username, PASSWORD) == 401
    assert portal.users()[username]["disabled"] is True

    _ok(portal.cli("user", "enable", username))
    assert _token_status(portal, username, PASSWORD) == 200
    # Disabling ended the token for good: re-enabling must not hand an intruder's back.
    for service, probe in portal.probes(bearer(api_token), record["id"]).items():
        assert probe().status_code == 401, f"the API token came back on {service}"


def test_shell_del_removes_the_user_and_their_files(portal: Portal) -> None:
    username, token = portal.new_user("shelldel")
    records = [portal.put(token, f"f{i}.txt", b"%d" % i) for i in range(2)]

    if portal.shape == "all":  # (the prompt is the same in both shapes: check it once)
        # Without --yes it asks; "no" keeps everything.
        kept = portal.cli("user", "del", username, stdin="n\n")
        assert kept.returncode != 0
        assert username in portal.users()

    out = _ok(portal.cli("user", "del", username, "--yes"))
    assert f"{username} deleted with 2 files" in out
    assert username not in portal.users()
    assert _token_status(portal, username, PASSWORD) == 401
    for record in records:
        url = f"{portal.metadata}/api/files/{record['id']}"
        assert portal.http.get(url, headers=portal.admin()).status_code == 404
    remaining = {p.name for p in portal.blob_files()}
    assert not {r["id"] for r in records} & remaining
