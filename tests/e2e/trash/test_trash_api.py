"""The trash through real servers, both shapes (SQLite and PostgreSQL): a delete moves a
file or a whole folder there (one item), hidden from listings, search, content, shares and
zips, still counted in the quota; restore, purge, empty; ``permanent=true``; replace."""

from __future__ import annotations

import concurrent.futures
from datetime import datetime, timedelta
from typing import Any

from tests.e2e.folders.support import Tree

Headers = dict[str, str]


def trash_items(portal: Tree, who: Headers) -> list[dict[str, Any]]:
    response = portal.http.get(f"{portal.metadata}/api/trash", headers=who)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def delete(portal: Tree, who: Headers, file_id: str, **params: str) -> str:
    response = portal.http.delete(
        f"{portal.metadata}/api/files/{file_id}", params=params, headers=who
    )
    assert response.status_code == 204, response.text
    return response.headers.get("x-trash-item", "")


def restore(portal: Tree, who: Headers, item_id: str) -> dict[str, Any]:
    response = portal.http.post(f"{portal.metadata}/api/trash/{item_id}/restore", headers=who)
    assert response.status_code == 200, response.text
    return dict(response.json())


def me(portal: Tree, who: Headers) -> dict[str, Any]:
    return dict(portal.http.get(f"{portal.auth}/api/me", headers=who).json())


def search(portal: Tree, who: Headers, q: str) -> list[str]:
    response = portal.http.get(f"{portal.metadata}/api/files", params={"q": q}, headers=who)
    return [item["id"] for item in response.json()["items"]]


def test_a_deleted_file_waits_in_the_trash_and_comes_back(portal: Tree) -> None:
    who = portal.user("trash")
    record = portal.put_ok(who, "docs/report.txt", b"x" * 1000)
    item_id = delete(portal, who, record["id"])
    assert item_id
    assert portal.record(who, record["id"]).status_code == 404
    assert portal.content(who, record["id"]).status_code == 404
    assert search(portal, who, "report") == []
    docs = portal.resolve(who, "/docs").json()
    assert portal.all_items(who, docs["id"]) == []
    assert portal.resolve(who, "/docs/report.txt").status_code == 404
    (item,) = trash_items(portal, who)
    assert item["id"] == item_id
    assert (item["kind"], item["name"], item["original_path"], item["size"]) == (
        "file",
        "report.txt",
        "/docs/report.txt",
        1000,
    )
    deleted = datetime.fromisoformat(item["deleted_at"])
    assert datetime.fromisoformat(item["purge_at"]) - deleted == timedelta(days=30)
    account = me(portal, who)
    assert (account["trash_bytes"], account["used_bytes"]) == (1000, 1000)

    back = restore(portal, who, item_id)
    assert (back["id"], back["path"]) == (record["id"], "/docs/report.txt")
    assert portal.content(who, record["id"]).content == b"x" * 1000
    assert trash_items(portal, who) == []
    assert me(portal, who)["trash_bytes"] == 0


def test_a_folder_is_one_item_and_its_files_vanish_and_return_with_it(portal: Tree) -> None:
    who = portal.user("trash")
    inner = portal.put_ok(who, "album/2026/a.jpg", b"jpeg")
    portal.put_ok(who, "album/b.txt", b"bee")
    album = portal.resolve(who, "/album").json()
    share = portal.http.post(
        f"{portal.metadata}/api/files/{inner['id']}/shares", json={}, headers=who
    )
    assert share.status_code == 201, share.text
    gone = portal.rmdir(who, album["id"])
    assert gone.status_code == 204
    (item,) = trash_items(portal, who)
    assert (item["kind"], item["original_path"], item["size"]) == ("folder", "/album", 7)
    assert portal.folder(who, album["id"]).status_code == 404
    assert portal.content(who, inner["id"]).status_code == 404
    assert search(portal, who, "a.jpg") == []
    assert portal.http.get(f"{portal.download}{share.json()['url']}").status_code == 404
    zipped = portal.http.get(f"{portal.download}/api/folders/root/zip", headers=who)
    assert b"a.jpg" not in zipped.content
    # The name is free again meanwhile: a new "album" takes it, the restored one is renumbered.
    portal.mkdir(who, "album")
    back = restore(portal, who, album["id"])  # by the folder's own id, as "Undo" does
    assert (back["kind"], back["name"]) == ("folder", "album (1)")
    assert portal.record(who, inner["id"]).json()["path"] == "/album (1)/2026/a.jpg"
    assert portal.http.get(f"{portal.download}{share.json()['url']}").status_code == 200


def test_restore_into_a_deleted_folder_makes_the_path_again(portal: Tree) -> None:
    who = portal.user("trash")
    record = portal.put_ok(who, "a/b/c.txt", b"c")
    item_id = delete(portal, who, record["id"])
    b_folder = portal.resolve(who, "/a/b").json()
    a_folder = portal.resolve(who, "/a").json()
    assert (
        portal.rmdir(
            who,
            a_folder["id"],
        ).status_code
        == 204
    )
    purge = portal.http.delete(f"{portal.metadata}/api/trash/{a_folder['id']}", headers=who)
    assert purge.status_code == 204
    back = restore(portal, who, item_id)
    assert back["path"] == "/a/b/c.txt"
    assert back["folder_id"] != b_folder["id"]
    assert portal.content(who, record["id"]).content == b"c"


def test_purge_empty_permanent_and_the_quota(portal: Tree) -> None:
    who = portal.user("trash", quota_bytes=1500)
    first = portal.put_ok(who, "one.bin", b"1" * 1000)
    delete(portal, who, first["id"])
    # In the trash, still counted: a second 1000 bytes does not fit.
    assert portal.put(who, "two.bin", b"2" * 1000).status_code == 413
    blobs_before = portal.blob_files()
    assert portal.http.delete(f"{portal.metadata}/api/trash", headers=who).status_code == 204
    assert trash_items(portal, who) == []
    if portal.shape == "all":
        assert len(portal.blob_files()) == len(blobs_before) - 1
    second = portal.put_ok(who, "two.bin", b"2" * 1000)
    assert delete(portal, who, second["id"], permanent="true") == ""
    assert trash_items(portal, who) == []
    third = portal.put_ok(who, "three.bin", b"3")
    item_id = delete(portal, who, third["id"])
    purged = portal.http.delete(f"{portal.metadata}/api/trash/{item_id}", headers=who)
    assert purged.status_code == 204
    assert (
        portal.http.delete(f"{portal.metadata}/api/trash/{item_id}", headers=who).status_code == 404
    )
    assert (
        portal.http.post(f"{portal.metadata}/api/trash/{item_id}/restore", headers=who).status_code
        == 404
    )


def test_replace_sends_the_old_file_to_the_trash(portal: Tree) -> None:
    who = portal.user("trash")
    old = portal.put_ok(who, "same.txt", b"old")
    new = portal.put_ok(who, "same.txt", b"new", on_conflict="replace")
    assert new["name"] == "same.txt"
    (item,) = trash_items(portal, who)
    assert (item["entry_id"], item["name"]) == (old["id"], "same.txt")
    back = restore(portal, who, item["id"])
    assert back["name"] == "same (1).txt"
    assert portal.content(who, old["id"]).content == b"old"


def test_another_users_items_are_not_found(portal: Tree) -> None:
    who, other = portal.user("trash"), portal.user("other")
    record = portal.put_ok(who, "mine.txt", b"m")
    item_id = delete(portal, who, record["id"])
    base = f"{portal.metadata}/api/trash/{item_id}"
    assert portal.http.post(f"{base}/restore", headers=other).status_code == 404
    assert portal.http.delete(base, headers=other).status_code == 404
    assert trash_items(portal, other) == []
    assert portal.http.delete(f"{portal.metadata}/api/trash", headers=other).status_code == 204
    assert [i["id"] for i in trash_items(portal, who)] == [item_id]


def test_restore_and_purge_racing_for_one_item_leave_one_outcome(portal: Tree) -> None:
    who = portal.user("trash")
    for round_ in range(6):
        record = portal.put_ok(who, f"race{round_}.txt", b"r" * 10)
        item_id = delete(portal, who, record["id"])
        base = f"{portal.metadata}/api/trash/{item_id}"
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            restored = pool.submit(portal.http.post, f"{base}/restore", headers=who)
            purged = pool.submit(portal.http.delete, base, headers=who)
            codes = sorted([restored.result().status_code, purged.result().status_code])
        assert codes in ([200, 404], [204, 404]), codes
        content = portal.content(who, record["id"])
        if codes == [200, 404]:
            assert content.content == b"r" * 10  # restored, with its blob
        else:
            assert content.status_code == 404
        assert trash_items(portal, who) == []


def test_deleting_a_user_deletes_their_trash_too(portal: Tree) -> None:
    name_headers = portal.user("doomed")
    username = portal.http.get(f"{portal.auth}/api/me", headers=name_headers).json()["username"]
    kept = portal.put_ok(name_headers, "kept.bin", b"k" * 100)
    trashed = portal.put_ok(name_headers, "box/trashed.bin", b"t" * 100)
    delete(portal, name_headers, trashed["id"])
    box = portal.resolve(name_headers, "/box").json()
    assert portal.rmdir(name_headers, box["id"]).status_code == 204
    blobs_before = portal.blob_files()
    gone = portal.http.delete(f"{portal.auth}/api/users/{username}", headers=portal.admin())
    assert gone.status_code == 204, gone.text
    assert not [r for r in portal.rows("files") if r["owner"] == username]
    assert not [r for r in portal.rows("trash") if r["owner"] == username]
    if portal.shape == "all":
        assert len(blobs_before) - len(portal.blob_files()) == 2
    assert kept["id"]
