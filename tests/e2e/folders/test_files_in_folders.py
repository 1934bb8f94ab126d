"""Files in folders, as a client sees them: uploads into a folder (multipart, raw PUT, tus),
paths that make folders, moves and server-side copies, ``on_conflict``, search."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from tests.e2e.api.support import raw_request
from tests.e2e.folders.support import Headers, Tree

QUOTA = 4000


def _multipart(
    portal: Tree, who: Headers, files: dict[str, bytes], **params: str
) -> list[dict[str, Any]]:
    response = portal.http.post(
        f"{portal.upload}/api/files",
        files=[("file", (name, data)) for name, data in files.items()],
        params=params,
        headers=who,
    )
    assert response.status_code == 201, response.text
    return list(response.json()["files"])


def _upload(portal: Tree, how: str, who: Headers, name: str, data: bytes, **params: str) -> Any:
    """One file uploaded ``how`` (multipart, put, tus) with ``params`` (folder_id,
    on_conflict); the answer's status and record (or body)."""
    if how == "multipart":
        response = portal.http.post(
            f"{portal.upload}/api/files",
            files=[("file", (name, data))],
            params=params,
            headers=who,
        )
        body = response.json()
        return response.status_code, body["files"][0] if response.status_code == 201 else body
    if how == "put":
        response = portal.put(who, name, data, **params)
        return response.status_code, response.json()
    response = portal.tus_upload(who, data, {"filename": name, **params})
    if response.status_code != 204:
        return response.status_code, response.json()
    record = portal.record(who, portal.tus_file_id(response))
    return 201, record.json()


@pytest.mark.parametrize("how", ["multipart", "put", "tus"])
def test_upload_into_a_folder_by_id(portal: Tree, how: str) -> None:
    me = portal.user()
    folder = portal.mkdir(me, "inbox")
    status, record = _upload(portal, how, me, "a.txt", b"into the folder", folder_id=folder["id"])
    assert status == 201, record
    assert record["kind"] == "file" and record["folder_id"] == folder["id"]
    assert record["path"] == "/inbox/a.txt"
    assert portal.content(me, record["id"]).content == b"into the folder"
    status, rooted = _upload(portal, how, me, "b.txt", b"root", folder_id="root")
    assert status == 201 and rooted["path"] == "/b.txt"
    assert [e["id"] for e in portal.all_items(me, folder["id"])] == [record["id"]]


@pytest.mark.parametrize("how", ["multipart", "put", "tus"])
def test_on_conflict_on_upload(portal: Tree, how: str) -> None:
    me = portal.user()
    folder = portal.mkdir(me, "f")
    first = portal.put_ok(me, "a.txt", b"first", folder_id=folder["id"])
    old_blob = portal.blob_path(portal.blob_key(first["id"]))

    status, renamed = _upload(portal, how, me, "A.TXT", b"second", folder_id=folder["id"])
    assert status == 201 and renamed["name"] == "A (1).TXT", renamed
    status, failed = _upload(
        portal, how, me, "a.txt", b"third", folder_id=folder["id"], on_conflict="fail"
    )
    assert status == 409 and failed["code"] == "name_taken", failed
    assert failed["existing_id"] == first["id"]

    status, replaced = _upload(
        portal, how, me, "a.txt", b"fourth", folder_id=folder["id"], on_conflict="replace"
    )
    assert status == 201 and replaced["name"] == "a.txt", replaced
    assert replaced["id"] != first["id"]
    assert portal.content(me, replaced["id"]).content == b"fourth"
    assert portal.record(me, first["id"]).status_code == 404
    assert portal.content(me, first["id"]).status_code == 404
    assert not old_blob.exists()
    names = sorted(e["name"] for e in portal.all_items(me, folder["id"]))
    assert names == ["A (1).TXT", "a.txt"]

    status, bad = _upload(portal, how, me, "z.txt", b"x", on_conflict="overwrite")
    assert status == 400, bad


def test_a_multi_segment_put_makes_the_folders(portal: Tree) -> None:
    me = portal.user()
    record = portal.put_ok(me, "photos/2026/a.jpg", b"jpeg")
    assert record["path"] == "/photos/2026/a.jpg"
    year = portal.resolve(me, "/photos/2026").json()
    assert record["folder_id"] == year["id"]
    # A second upload reuses them, whatever the case; curl -T into a folder path ending in '/'
    # sends the name last.
    again = portal.put_ok(me, "Photos/2026/b.jpg", b"jpeg 2")
    assert again["folder_id"] == year["id"] and again["path"] == "/photos/2026/b.jpg"
    # Under folder_id, and with empty and '.' segments dropped.
    deeper = portal.put_ok(me, "x//./y/c.txt", b"c", folder_id=year["id"])
    assert deeper["path"] == "/photos/2026/x/y/c.txt"
    assert [e["name"] for e in portal.all_items(me, "root")] == ["photos"]
    # A file in the way of a folder is a clash, not a 500.
    portal.put_ok(me, "blocker", b"i am a file")
    blocked = portal.put(me, "blocker/d.txt", b"d")
    assert blocked.status_code == 409, blocked.text
    assert blocked.json()["code"] == "name_taken"


def test_an_encoded_slash_stays_in_one_name(portal: Tree) -> None:
    me = portal.user()
    record = portal.put_ok(me, "a%2Fb.txt", b"one name")
    # §5: a name with '/' is stored as its last segment; no folder was made.
    assert record["folder_id"] is None
    assert record["path"] == f"/{record['name']}"
    assert "/" not in record["name"]
    assert [e["kind"] for e in portal.all_items(me, "root")] == ["file"]


@pytest.mark.parametrize(
    ("path", "stored"),
    [
        ("/api/upload/../x.txt", "/x.txt"),
        ("/api/upload/a/../x.txt", "/a/x.txt"),
        ("/api/upload/a/../../x.txt", "/a/x.txt"),
        ("/api/upload/a/%2E%2E/x.txt", "/a/x.txt"),
        ("/api/upload/%2e%2e/x.txt", "/x.txt"),
        ("/api/upload/a/./b/..", "/a/b/unnamed"),
    ],
)
def test_dot_dot_segments_in_put_paths_never_climb(portal: Tree, path: str, stored: str) -> None:
    """``curl --path-as-is``: the path reaches the server as written. A ``..`` names no
    folder: it is dropped (a last one is a name, cleaned to ``unnamed`` as §5 says)."""
    me = portal.user()
    response = raw_request(
        portal.upload, "PUT", path, {**me, "Content-Length": "3"}, [b"abc"], timeout=30
    )
    assert response.status == 201, (path, response.status, response.body)
    record = json.loads(response.body)
    assert record["path"] == stored
    assert portal.resolve(me, stored).json()["id"] == record["id"]
    top = stored.split("/")[1]
    assert [e["name"] for e in portal.all_items(me, "root")] == [top]


def test_put_without_a_name_is_400(portal: Tree) -> None:
    me = portal.user()
    for path in ("/api/upload/", "/api/upload", "/api/upload/photos/"):
        response = raw_request(
            portal.upload, "PUT", path, {**me, "Content-Length": "3"}, [b"abc"], timeout=30
        )
        assert response.status == 400, (path, response.body)
    # curl -T big.bin http://host/api/upload: 400 naming what is missing, not 413.
    big = 3 * 1024 * 1024
    response = raw_request(
        portal.upload,
        "PUT",
        "/api/upload",
        {**me, "Content-Length": str(big)},
        [b"\0" * big],
        timeout=30,
    )
    assert response.status == 400 and b"name" in response.body, response.body
    assert portal.all_items(me, "root") == []


def test_tus_relative_path_makes_the_folders(portal: Tree) -> None:
    me = portal.user()
    base = portal.mkdir(me, "drop")
    response = portal.tus_upload(
        me, b"uppy", {"filename": "c.txt", "relativePath": "album/2026/c.txt"}
    )
    record = portal.record(me, portal.tus_file_id(response)).json()
    assert record["path"] == "/album/2026/c.txt"
    response = portal.tus_upload(
        me,
        b"uppy 2",
        {"filename": "d.txt", "relativePath": "album/d.txt", "folder_id": base["id"]},
    )
    record = portal.record(me, portal.tus_file_id(response)).json()
    assert record["path"] == "/drop/album/d.txt"
    # A path never climbs: ".." names no folder (cleaned away, as a PUT path's is).
    climbing = portal.tus_upload(
        me, b"x", {"filename": "e.txt", "relativePath": "../x/../../e.txt", "folder_id": base["id"]}
    )
    record = portal.record(me, portal.tus_file_id(climbing)).json()
    assert record["path"] == "/drop/x/e.txt"
    unknown = portal.tus_upload(me, b"x", {"filename": "e.txt", "folder_id": "0" * 32})
    assert unknown.status_code == 404, unknown.text
    assert sorted(e["name"] for e in portal.all_items(me, "root")) == ["album", "drop"]


def test_move_a_file(portal: Tree) -> None:
    me = portal.user()
    a = portal.mkdir(me, "a")
    b = portal.mkdir(me, "b")
    file = portal.put_ok(me, "f.txt", b"moving", folder_id=a["id"])
    moved = portal.patch_file(me, file["id"], {"folder_id": b["id"]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["id"] == file["id"] and moved.json()["path"] == "/b/f.txt"
    assert moved.json()["folder_id"] == b["id"]
    assert portal.all_items(me, a["id"]) == []
    assert portal.content(me, file["id"]).content == b"moving"
    # A move and a rename in one.
    both = portal.patch_file(me, file["id"], {"folder_id": "root", "name": "g.txt"})
    assert both.status_code == 200 and both.json()["path"] == "/g.txt"
    assert portal.patch_file(me, file["id"], {"folder_id": "0" * 32}).status_code == 404
    assert portal.patch_file(me, file["id"], {"folder_id": "nope"}).status_code == 404
    assert portal.patch_file(me, "0" * 32, {"folder_id": b["id"]}).status_code == 404


def test_on_conflict_on_move(portal: Tree) -> None:
    me = portal.user()
    dest = portal.mkdir(me, "dest")
    there = portal.put_ok(me, "a.txt", b"already there", folder_id=dest["id"])
    there_blob = portal.blob_path(portal.blob_key(there["id"]))
    # Each from a folder of its own, where each is a.txt.
    movers = [portal.put_ok(me, f"src{i}/a.txt", f"mover {i}".encode()) for i in range(3)]

    renamed = portal.patch_file(me, movers[0]["id"], {"folder_id": dest["id"]})
    assert renamed.status_code == 200 and renamed.json()["name"] == "a (1).txt"
    failed = portal.patch_file(me, movers[1]["id"], {"folder_id": dest["id"]}, on_conflict="fail")
    assert failed.status_code == 409 and failed.json()["existing_id"] == there["id"]
    assert portal.record(me, movers[1]["id"]).json()["path"] == movers[1]["path"]
    replaced = portal.patch_file(
        me, movers[2]["id"], {"folder_id": dest["id"]}, on_conflict="replace"
    )
    assert replaced.status_code == 200 and replaced.json()["name"] == "a.txt"
    assert replaced.json()["id"] == movers[2]["id"]
    assert portal.content(me, there["id"]).status_code == 404
    assert not there_blob.exists()
    assert portal.resolve(me, "/dest/a.txt").json()["id"] == movers[2]["id"]
    bad = portal.patch_file(me, movers[1]["id"], {"folder_id": dest["id"]}, on_conflict="x")
    assert bad.status_code == 400
    # A folder is never replaced by a file.
    portal.mkdir(me, "sub", dest["id"])
    onto_folder = portal.patch_file(
        me, movers[1]["id"], {"folder_id": dest["id"], "name": "SUB"}, on_conflict="replace"
    )
    assert onto_folder.status_code == 409, onto_folder.text


def test_copy_on_the_server(portal: Tree) -> None:
    me = portal.user()
    dest = portal.mkdir(me, "dest")
    data = b"copied without the client" * 100
    source = portal.put_ok(me, "s.bin", data)
    copied = portal.copy(me, source["id"], {"folder_id": dest["id"]})
    assert copied.status_code == 201, copied.text
    copy = copied.json()
    assert copy["id"] != source["id"]
    assert copy["sha256"] == source["sha256"] == hashlib.sha256(data).hexdigest()
    assert (copy["size"], copy["name"], copy["path"]) == (len(data), "s.bin", "/dest/s.bin")
    assert portal.content(me, copy["id"]).content == data
    # A copy beside its source is renamed; or named as asked.
    beside = portal.copy(me, source["id"])
    assert beside.status_code == 201 and beside.json()["name"] == "s (1).bin"
    named = portal.copy(me, source["id"], {"name": "other.bin", "folder_id": "root"})
    assert named.status_code == 201 and named.json()["path"] == "/other.bin"
    # Deleting one leaves the other whole.
    assert portal.delete_file(me, source["id"]).status_code == 204
    assert portal.content(me, source["id"]).status_code == 404
    assert portal.content(me, copy["id"]).content == data
    assert portal.blob_path(portal.blob_key(copy["id"])).is_file()
    assert portal.copy(me, source["id"]).status_code == 404
    assert portal.copy(me, copy["id"], {"folder_id": "0" * 32}).status_code == 404


def test_on_conflict_on_copy(portal: Tree) -> None:
    me = portal.user()
    dest = portal.mkdir(me, "dest")
    there = portal.put_ok(me, "a.txt", b"there", folder_id=dest["id"])
    there_blob = portal.blob_path(portal.blob_key(there["id"]))
    source = portal.put_ok(me, "a.txt", b"source")
    failed = portal.copy(me, source["id"], {"folder_id": dest["id"]}, on_conflict="fail")
    assert failed.status_code == 409 and failed.json()["existing_id"] == there["id"]
    assert len(portal.all_items(me, dest["id"])) == 1
    replaced = portal.copy(me, source["id"], {"folder_id": dest["id"]}, on_conflict="replace")
    assert replaced.status_code == 201, replaced.text
    assert portal.content(me, replaced.json()["id"]).content == b"source"
    assert portal.content(me, there["id"]).status_code == 404
    assert not there_blob.exists()
    renamed = portal.copy(me, source["id"], {"folder_id": dest["id"]}, on_conflict="rename")
    assert renamed.json()["name"] == "a (1).txt"


def test_copy_counts_against_the_quota(portal: Tree) -> None:
    me = portal.user(quota_bytes=QUOTA)
    source = portal.put_ok(me, "big.bin", b"q" * (QUOTA // 2 + 100))
    over = portal.copy(me, source["id"])
    assert over.status_code == 413, over.text
    assert over.json()["code"] == "quota_exceeded"
    assert [e["id"] for e in portal.all_items(me, "root")] == [source["id"]]
    blobs_of_user = {r["blob_key"] for r in portal.rows("files") if r["id"] == source["id"]}
    assert len(blobs_of_user) == 1
    small = portal.put_ok(me, "small.bin", b"s" * 10)
    assert portal.copy(me, small["id"]).status_code == 201


def test_search_carries_paths_and_narrows_to_a_folder(portal: Tree) -> None:
    me = portal.user()
    a = portal.mkdir(me, "a")
    b = portal.mkdir(me, "b", a["id"])
    top = portal.put_ok(me, "needle-top.txt", b"1")
    in_a = portal.put_ok(me, "needle-a.txt", b"2", folder_id=a["id"])
    in_b = portal.put_ok(me, "NEEDLE-b.txt", b"3", folder_id=b["id"])
    portal.put_ok(me, "hay.txt", b"4", folder_id=b["id"])
    found = portal.list_files(me, q="needle", sort="name").json()["items"]
    assert {f["id"]: f["path"] for f in found} == {
        top["id"]: "/needle-top.txt",
        in_a["id"]: "/a/needle-a.txt",
        in_b["id"]: "/a/b/NEEDLE-b.txt",
    }
    assert all(f["kind"] == "file" for f in found)
    narrowed = portal.list_files(me, q="needle", folder_id=b["id"]).json()["items"]
    assert [f["id"] for f in narrowed] == [in_b["id"]]
    rooted = portal.list_files(me, folder_id="root").json()["items"]
    assert [f["id"] for f in rooted] == [top["id"]]
    # Paged search keeps paths on every page.
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"q": "needle", "limit": 1, "sort": "-created_at"}
        if cursor:
            params["cursor"] = cursor
        page = portal.list_files(me, **params).json()
        seen.extend(f["path"] for f in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["/a/b/NEEDLE-b.txt", "/a/needle-a.txt", "/needle-top.txt"]
    assert portal.list_files(me, folder_id="nope").status_code == 404
