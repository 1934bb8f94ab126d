"""Zip downloads through real servers, both shapes (SQLite and PostgreSQL): a folder and a
selection as archives every reader accepts, exact length, strong ETag, ranges anywhere,
If-Range, owners, bad input, and CRC-32s filled in lazily for files recorded without."""

from __future__ import annotations

import hashlib
import sqlite3
import zlib
from pathlib import Path

from tests.e2e.folders.support import Tree
from tests.e2e.zip.support import other_readers_accept, ranges_match, read_zip
from tests.harness import database
from tests.harness.http import refuse_500

Headers = dict[str, str]


def build_tree(portal: Tree, who: Headers) -> tuple[dict[str, str], bytes]:
    """``photos/`` with a subfolder, an empty folder, UTF-8 names and a bigger file."""
    photos = portal.mkdir(who, "photos")
    portal.mkdir(who, "empty", photos["id"])
    big = hashlib.sha256(b"seed").digest() * 40_000  # 1.28 MB, several store chunks
    ids = {
        "a": portal.put_ok(who, "photos/a.txt", b"alpha\n")["id"],
        "é": portal.put_ok(who, "photos/2026/été 日本.txt", "été".encode())["id"],
        "zero": portal.put_ok(who, "photos/2026/zero.bin", b"")["id"],
        "big": portal.put_ok(who, "photos/big.bin", big)["id"],
        "top": portal.put_ok(who, "notes.md", b"# notes\n")["id"],
        "photos": photos["id"],
    }
    return ids, big


def test_a_folder_zip_holds_the_tree_and_every_reader_accepts_it(
    portal: Tree, tmp_path: Path
) -> None:
    who = portal.user("zip")
    ids, big = build_tree(portal, who)
    url = f"{portal.download}/api/folders/{ids['photos']}/zip"
    response = portal.http.get(url, headers=who)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert int(response.headers["content-length"]) == len(response.content)
    assert "photos.zip" in response.headers["content-disposition"]
    etag = response.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    entries = read_zip(response.content)
    assert entries == {
        "photos/": b"",
        "photos/2026/": b"",
        "photos/2026/zero.bin": b"",
        "photos/2026/été 日本.txt": "été".encode(),
        "photos/a.txt": b"alpha\n",
        "photos/big.bin": big,
        "photos/empty/": b"",
    }
    other_readers_accept(response.content, tmp_path)

    again = portal.http.get(url, headers=who)
    assert (again.content, again.headers["etag"]) == (response.content, etag)
    head = portal.http.head(url, headers=who)
    assert head.headers["content-length"] == response.headers["content-length"]
    assert head.headers["etag"] == etag
    assert portal.http.get(url, headers={**who, "If-None-Match": etag}).status_code == 304
    ranges_match(portal.http, url, who, response.content)

    # If-Range: the same archive resumes; a changed one starts over with the whole body.
    half = len(response.content) // 2
    resume = {**who, "Range": f"bytes={half}-", "If-Range": etag}
    resumed = portal.http.get(url, headers=resume)
    assert (resumed.status_code, resumed.content) == (206, response.content[half:])
    portal.put_ok(who, "photos/later.txt", b"new")
    changed = portal.http.get(url, headers=resume)
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert "photos/later.txt" in read_zip(changed.content)


def test_the_root_zip_holds_everything_and_a_selection_link_is_the_owners(
    portal: Tree, tmp_path: Path
) -> None:
    who = portal.user("zip")
    ids, _big = build_tree(portal, who)
    root = portal.http.get(f"{portal.download}/api/folders/root/zip", headers=who)
    assert root.status_code == 200
    assert set(read_zip(root.content)) >= {"notes.md", "photos/", "photos/a.txt"}
    assert 'filename="files.zip"' in root.headers["content-disposition"]

    body = {"file_ids": [ids["top"], ids["a"]], "folder_ids": [ids["photos"]]}
    made = portal.http.post(f"{portal.download}/api/zip", json=body, headers=who)
    assert made.status_code == 201, made.text
    link = made.json()
    assert link["url"].startswith("/api/zip/")
    got = portal.http.get(portal.download + link["url"], headers=who)
    assert got.status_code == 200
    assert (len(got.content), got.headers["etag"]) == (link["size"], link["etag"])
    entries = read_zip(got.content)
    # The selected a.txt sits at the top; the folder's own a.txt stays inside it.
    assert entries["a.txt"] == entries["photos/a.txt"] == b"alpha\n"
    assert entries["notes.md"] == b"# notes\n"
    other_readers_accept(got.content, tmp_path)
    ranges_match(portal.http, portal.download + link["url"], who, got.content)

    # The same selection in another order is the same archive.
    swapped = {"file_ids": [ids["a"], ids["top"]], "folder_ids": [ids["photos"]]}
    second = portal.http.post(f"{portal.download}/api/zip", json=swapped, headers=who)
    assert second.json()["etag"] == link["etag"]

    stranger = portal.user("other")
    assert portal.http.get(portal.download + link["url"], headers=stranger).status_code == 404
    assert portal.http.get(f"{portal.download}/api/zip/nosuchtoken", headers=who).status_code == 404
    assert portal.http.get(portal.download + link["url"]).status_code == 401


def test_bad_selections_are_refused_and_nothing_of_another_user_leaks(portal: Tree) -> None:
    who = portal.user("zip")
    ids, _big = build_tree(portal, who)
    other = portal.user("other")
    url = f"{portal.download}/api/zip"

    def post(body: object, headers: Headers) -> int:
        response = portal.http.post(url, json=body, headers=headers)
        refuse_500(response)
        return response.status_code

    assert post({"file_ids": [], "folder_ids": []}, who) == 400
    assert post({"file_ids": ["0" * 32] * 100_001}, who) == 400
    assert post({"file_ids": [ids["a"]]}, other) == 404
    assert post({"folder_ids": [ids["photos"]]}, other) == 404
    assert post({"file_ids": [ids["a"], "f" * 32]}, who) == 404
    assert post({"file_ids": ["../../etc"]}, who) == 404
    assert post({"file_ids": "nope"}, who) == 422
    folder = portal.http.get(f"{portal.download}/api/folders/{ids['photos']}/zip", headers=other)
    assert folder.status_code == 404


def test_a_file_recorded_without_a_crc32_gets_it_once_and_keeps_it(portal: Tree) -> None:
    who = portal.user("zip")
    record = portal.put_ok(who, "older/x.bin", b"older bytes" * 1000)
    folder_id = record["folder_id"]
    stored = {r["id"]: r for r in portal.rows("files")}
    assert stored[record["id"]]["crc32"] is not None  # computed on the way in
    forget_crc32(portal, record["id"])
    url = f"{portal.download}/api/folders/{folder_id}/zip"
    response = portal.http.get(url, headers=who)
    assert read_zip(response.content)["older/x.bin"] == b"older bytes" * 1000
    kept = {r["id"]: r for r in portal.rows("files")}[record["id"]]["crc32"]
    assert kept == zlib.crc32(b"older bytes" * 1000)


def forget_crc32(portal: Tree, file_id: str) -> None:
    """As if the file had been recorded before CRC-32s were kept."""
    query = f"UPDATE files SET crc32 = NULL WHERE id = '{file_id}'"
    if portal.database_url is not None:
        database.pg_fetch(portal.database_url, query)
        return
    conn = sqlite3.connect(portal.data_dir / "filebay.db", timeout=10)
    with conn:
        conn.execute(query)
    conn.close()
