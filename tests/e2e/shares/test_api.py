"""The owner's side of share links: create, list, revoke; what is stored; who may do it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.e2e.shares.support import SHARE_PASSWORD, Portal

DATA = b"shared bytes\n" * 100


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def _row(portal: Portal, share_id: str) -> dict[str, object]:
    rows = [r for r in portal.rows("shares") if r["id"] == share_id]
    assert len(rows) == 1, rows
    return rows[0]


def test_create_without_options(portal: Portal, owner: dict[str, str]) -> None:
    file_id = portal.put(owner, "plain.txt", DATA)
    made = portal.share(owner, file_id)
    token = made["token"]
    assert made["url"].endswith(f"/s/{token}")
    assert made["expires_at"] is None and made["max_downloads"] is None
    assert made["has_password"] is False and made["downloads"] == 0
    assert "password_hash" not in made
    # At least 128 random bits, in a URL-safe alphabet.
    assert len(token) >= 22 and all(c.isalnum() or c in "-_" for c in token)
    with httpx.Client() as stranger:
        assert stranger.get(portal.page_url(token)).status_code == 200
        assert stranger.get(portal.content_url(token)).content == DATA


def test_create_with_every_option(portal: Portal, owner: dict[str, str]) -> None:
    file_id = portal.put(owner, "options.txt", DATA)
    before = datetime.now(UTC)
    made = portal.share(owner, file_id, expires_in=3600, password=SHARE_PASSWORD, max_downloads=3)
    after = datetime.now(UTC)
    assert made["max_downloads"] == 3 and made["has_password"] is True
    expires = _at(made["expires_at"])
    assert before + timedelta(seconds=3599) <= expires <= after + timedelta(seconds=3601)


@pytest.mark.parametrize(
    "options",
    [
        {"expires_in": 0},
        {"expires_in": -5},
        {"expires_in": "soon"},
        {"max_downloads": 0},
        {"max_downloads": -1},
        {"password": ""},
        {"password": "x" * 5000},
    ],
)
def test_bad_options_are_refused(
    portal: Portal, owner: dict[str, str], options: dict[str, object]
) -> None:
    file_id = portal.put(owner, "bad-options.txt", DATA)
    response = portal.create_share(owner, file_id, **options)
    assert response.status_code in (400, 422), response.text
    assert portal.list_shares(owner, file_id).json()["items"] == []


def test_token_only_in_the_creation_answer(portal: Portal, owner: dict[str, str]) -> None:
    file_id = portal.put(owner, "secret-link.txt", DATA)
    made = portal.share(owner, file_id, password=SHARE_PASSWORD)
    token = made["token"]

    listed = portal.list_shares(owner, file_id)
    assert listed.status_code == 200
    (item,) = listed.json()["items"]
    assert item["id"] == made["id"] and item["has_password"] is True
    assert "token" not in item and "url" not in item
    assert "password" not in item and "password_hash" not in item
    assert token not in listed.text and "argon2" not in listed.text

    # The database keeps the SHA-256 of the token, and an Argon2id hash of the password.
    row = _row(portal, made["id"])
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(portal.rows("shares"))
    password_hash = str(row["password_hash"])
    assert password_hash.startswith("$argon2id$")
    assert SHARE_PASSWORD not in password_hash


def test_another_user_cannot_touch_my_links(portal: Portal, owner: dict[str, str]) -> None:
    file_id = portal.put(owner, "mine.txt", DATA)
    made = portal.share(owner, file_id)
    stranger = portal.new_user("stranger")

    assert portal.create_share(stranger, file_id).status_code == 404
    assert portal.list_shares(stranger, file_id).status_code == 404
    assert portal.revoke(stranger, made["token"]).status_code == 404
    assert portal.revoke(stranger, made["id"]).status_code == 404
    # Nothing changed: one link, still working.
    assert len(portal.list_shares(owner, file_id).json()["items"]) == 1
    with httpx.Client() as anyone:
        assert anyone.get(portal.content_url(made["token"])).status_code == 200

    # Without any credentials: 401, and nothing changes either.
    with httpx.Client() as anonymous:
        url = f"{portal.metadata}/api/files/{file_id}/shares"
        assert anonymous.post(url, json={}).status_code == 401
        assert anonymous.get(url).status_code == 401
        assert anonymous.delete(f"{portal.metadata}/api/shares/{made['id']}").status_code == 401
    assert len(portal.list_shares(owner, file_id).json()["items"]) == 1


def test_admin_manages_anyones_links(portal: Portal, owner: dict[str, str]) -> None:
    file_id = portal.put(owner, "admin-sees.txt", DATA)
    mine = portal.share(owner, file_id)
    by_admin = portal.share(portal.admin(), file_id, max_downloads=2)
    listed = portal.list_shares(portal.admin(), file_id)
    assert listed.status_code == 200
    assert {s["id"] for s in listed.json()["items"]} == {mine["id"], by_admin["id"]}
    # The admin's link belongs to the file's owner, who sees and can revoke it.
    assert {s["id"] for s in portal.list_shares(owner, file_id).json()["items"]} == {
        mine["id"],
        by_admin["id"],
    }
    assert portal.revoke(portal.admin(), mine["token"]).status_code == 204
    assert portal.revoke(owner, by_admin["id"]).status_code == 204
    assert portal.list_shares(owner, file_id).json()["items"] == []


def test_revoke_by_token_and_by_id(
    portal: Portal, owner: dict[str, str], http: httpx.Client
) -> None:
    file_id = portal.put(owner, "revoke.txt", DATA)
    by_token = portal.share(owner, file_id)
    by_id = portal.share(owner, file_id)
    kept = portal.share(owner, file_id)

    assert portal.revoke(owner, by_token["token"]).status_code == 204
    assert portal.revoke(owner, by_id["id"]).status_code == 204
    # Revoking twice, or something that never existed: 404.
    assert portal.revoke(owner, by_token["token"]).status_code == 404
    assert portal.revoke(owner, by_id["id"]).status_code == 404
    assert portal.revoke(owner, "0" * 32).status_code == 404
    assert portal.revoke(owner, "no-such-token").status_code == 404

    for made in (by_token, by_id):
        for url in (portal.page_url(made["token"]), portal.content_url(made["token"])):
            assert http.get(url).status_code == 404
    assert http.get(portal.content_url(kept["token"])).content == DATA
    assert [s["id"] for s in portal.list_shares(owner, file_id).json()["items"]] == [kept["id"]]


def test_deleting_the_file_ends_its_links(
    portal: Portal, owner: dict[str, str], http: httpx.Client
) -> None:
    file_id = portal.put(owner, "gone.txt", DATA)
    other_id = portal.put(owner, "stays.txt", DATA)
    links = [portal.share(owner, file_id), portal.share(owner, file_id, password="pw")]
    other = portal.share(owner, other_id)
    assert http.get(portal.content_url(links[0]["token"])).status_code == 200

    portal.delete_file(owner, file_id)
    for made in links:
        assert http.get(portal.page_url(made["token"])).status_code == 404
        assert http.get(portal.content_url(made["token"])).status_code == 404
        assert http.head(portal.content_url(made["token"])).status_code == 404
    # In the trash the links are dead but kept (a restore brings them back); purged, the
    # rows go with the file. The other file's link is untouched.
    assert file_id in {r["file_id"] for r in portal.rows("shares")}
    purged = http.delete(f"{portal.metadata}/api/trash/{file_id}", headers=owner)
    assert purged.status_code == 204, purged.text
    assert {r["file_id"] for r in portal.rows("shares")}.isdisjoint({file_id})
    assert http.get(portal.content_url(other["token"])).content == DATA
    # And the deleted file's links can no longer be listed or created.
    assert portal.list_shares(owner, file_id).status_code == 404
    assert portal.create_share(owner, file_id).status_code == 404
