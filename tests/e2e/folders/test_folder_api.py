"""§8.1's folder API as a client sees it: create, show, list, rename, move, delete, resolve;
and §5's bad input applied to folder names, ids and cursors."""

from __future__ import annotations

import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.e2e.folders.support import SORTS, Tree
from tests.harness.http import client

UNKNOWN_ID = "0" * 32


def test_create_show_and_list_a_folder(portal: Tree) -> None:
    me = portal.user()
    photos = portal.mkdir(me, "photos")
    assert photos["kind"] == "folder"
    assert photos["parent_id"] is None and photos["path"] == "/photos"
    year = portal.mkdir(me, "2026", photos["id"])
    assert year["parent_id"] == photos["id"] and year["path"] == "/photos/2026"
    shown = portal.folder(me, year["id"])
    assert shown.status_code == 200
    assert shown.json()["path"] == "/photos/2026"
    # `root` works wherever a folder id does.
    assert [e["id"] for e in portal.all_items(me, "root")] == [photos["id"]]
    under_root = portal.mkdir(me, "docs", "root")
    assert under_root["parent_id"] is None


def test_a_taken_name_is_409_with_the_holder(portal: Tree) -> None:
    me = portal.user()
    first = portal.mkdir(me, "Photos")
    # Case, Unicode normalisation and case folding (ß → ss) all name the same entry.
    for same in ("Photos", "PHOTOS", "photos"):
        response = portal.mkdir_response(me, same)
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "name_taken"
        assert response.json()["existing_id"] == first["id"]
    nfc = portal.mkdir(me, unicodedata.normalize("NFC", "Résumé"))
    nfd = portal.mkdir_response(me, unicodedata.normalize("NFD", "RÉSUMÉ"))
    assert nfd.status_code == 409 and nfd.json()["existing_id"] == nfc["id"]
    street = portal.mkdir(me, "Straße")
    folded = portal.mkdir_response(me, "STRASSE")
    assert folded.status_code == 409 and folded.json()["existing_id"] == street["id"]
    # A file holds its name against a folder too.
    held = portal.put_ok(me, "report.txt", b"x")
    clash = portal.mkdir_response(me, "REPORT.txt")
    assert clash.status_code == 409 and clash.json()["existing_id"] == held["id"]
    # The same name elsewhere, or another user's, is free.
    portal.mkdir(me, "photos", first["id"])
    portal.mkdir(portal.user(), "photos")


def _racing_creations(portal: Tree, who: dict[str, str], name: str, n: int) -> list[httpx.Response]:
    """``n`` creations of one folder name at once, each on a connection of its own."""
    barrier = threading.Barrier(n)

    def create() -> httpx.Response:
        with client() as c:
            barrier.wait(10)
            return c.post(f"{portal.metadata}/api/folders", json={"name": name}, headers=who)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: create(), range(n)))


def test_two_concurrent_creations_of_one_name_exactly_one_wins(portal: Tree) -> None:
    me = portal.user()
    for round_, n in enumerate((2, 2, 4, 4)):
        answers = _racing_creations(portal, me, f"race-{round_}", n)
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [201] + [409] * (n - 1), [r.text for r in answers]
        winner = next(r.json()["id"] for r in answers if r.status_code == 201)
        assert {r.json()["existing_id"] for r in answers if r.status_code == 409} == {winner}
    names = [e["name"] for e in portal.all_items(me, "root")]
    assert names == [f"race-{i}" for i in range(4)]


def test_breadcrumbs_and_recursive_counts(portal: Tree) -> None:
    me = portal.user()
    a = portal.mkdir(me, "a")
    b = portal.mkdir(me, "b", a["id"])
    c = portal.mkdir(me, "c", b["id"])
    portal.put_ok(me, "top.bin", b"1" * 7)  # in the root, outside a
    portal.put_ok(me, "one.bin", b"1" * 10, folder_id=a["id"])
    portal.put_ok(me, "two.bin", b"2" * 20, folder_id=b["id"])
    portal.put_ok(me, "three.bin", b"3" * 30, folder_id=c["id"])
    shown = portal.folder(me, c["id"]).json()
    assert shown["breadcrumbs"] == [
        {"id": "root", "name": ""},
        {"id": a["id"], "name": "a"},
        {"id": b["id"], "name": "b"},
        {"id": c["id"], "name": "c"},
    ]
    assert (shown["files"], shown["bytes"]) == (1, 30)
    shown = portal.folder(me, a["id"]).json()
    assert (shown["files"], shown["bytes"]) == (3, 60)
    root = portal.folder(me, "root").json()
    assert (root["files"], root["bytes"]) == (4, 67)
    assert root["breadcrumbs"] == [{"id": "root", "name": ""}]


def _key(entry: dict[str, Any], sort: str) -> tuple[Any, str]:
    field = sort.lstrip("-")
    if entry["kind"] == "folder" and field == "size":
        field = "name"  # folders have no size: they come by name
    value = entry[field]
    if field == "created_at":
        value = datetime.fromisoformat(value)
    return value, entry["id"]


def _expected(entries: list[dict[str, Any]], sort: str) -> list[str]:
    folders = [e for e in entries if e["kind"] == "folder"]
    files = [e for e in entries if e["kind"] == "file"]
    descending = sort.startswith("-")
    folder_desc = descending and sort.lstrip("-") != "size"
    return [
        e["id"]
        for e in sorted(folders, key=lambda e: _key(e, sort), reverse=folder_desc)
        + sorted(files, key=lambda e: _key(e, sort), reverse=descending)
    ]


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
def test_items_folders_first_in_keyset_pages_for_every_sort(portal: Tree, limit: int) -> None:
    me = portal.user()
    top = portal.mkdir(me, "top")
    made: list[dict[str, Any]] = []
    for name in ("kiwi", "apple", "mango"):
        made.append(portal.mkdir(me, name, top["id"]))
    # Two files of one size: the id breaks the tie, on every page boundary.
    for name, size in (("pear.txt", 5), ("fig.txt", 50), ("date.txt", 5), ("lime.txt", 500)):
        made.append(portal.put_ok(me, name, b"x" * size, folder_id=top["id"]))
    portal.mkdir(me, "elsewhere")  # not in top
    for sort in SORTS:
        listed = portal.all_items(me, top["id"], sort=sort, limit=limit)
        assert [e["id"] for e in listed] == _expected(made, sort), sort
        kinds = [e["kind"] for e in listed]
        assert kinds == ["folder"] * 3 + ["file"] * 4
        assert all(e["path"] == f"/top/{e['name']}" for e in listed)


def test_rename_and_move_a_folder(portal: Tree) -> None:
    me = portal.user()
    a = portal.mkdir(me, "a")
    b = portal.mkdir(me, "b")
    inner = portal.mkdir(me, "inner", a["id"])
    held = portal.put_ok(me, "f.txt", b"hello", folder_id=inner["id"])
    # Renaming to another case of its own name is no clash.
    renamed = portal.patch_folder(me, a["id"], name="A")
    assert renamed.status_code == 200 and renamed.json()["name"] == "A"
    moved = portal.patch_folder(me, inner["id"], parent_id=b["id"])
    assert moved.status_code == 200, moved.text
    assert moved.json()["path"] == "/b/inner" and moved.json()["parent_id"] == b["id"]
    # What was inside moved along.
    assert portal.record(me, held["id"]).json()["path"] == "/b/inner/f.txt"
    assert portal.resolve(me, "/b/inner/f.txt").json()["id"] == held["id"]
    assert portal.resolve(me, "/A/inner").status_code == 404
    back = portal.patch_folder(me, inner["id"], parent_id="root", name="out")
    assert back.status_code == 200 and back.json()["path"] == "/out"
    assert back.json()["parent_id"] is None


def test_moves_into_itself_or_below_are_409_cycle(portal: Tree) -> None:
    me = portal.user()
    a = portal.mkdir(me, "a")
    b = portal.mkdir(me, "b", a["id"])
    c = portal.mkdir(me, "c", b["id"])
    for target in (a, b, c):
        response = portal.patch_folder(me, a["id"], parent_id=target["id"])
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "cycle"
    assert portal.folder(me, c["id"]).json()["path"] == "/a/b/c"


def test_rename_or_move_onto_a_taken_name_is_409(portal: Tree) -> None:
    me = portal.user()
    a = portal.mkdir(me, "a")
    b = portal.mkdir(me, "b")
    other_a = portal.mkdir(me, "A", b["id"])
    renamed = portal.patch_folder(me, b["id"], name="a")
    assert renamed.status_code == 409 and renamed.json()["existing_id"] == a["id"]
    moved = portal.patch_folder(me, a["id"], parent_id=b["id"])
    assert moved.status_code == 409 and moved.json()["existing_id"] == other_a["id"]
    assert portal.folder(me, a["id"]).json()["path"] == "/a"


def test_unknown_folders_are_404(portal: Tree) -> None:
    me = portal.user()
    a = portal.mkdir(me, "a")
    file = portal.put_ok(me, "f.txt", b"x")
    for bad in (UNKNOWN_ID, "not-an-id", "ROOT", "..", file["id"], "g" * 32, "a" * 64):
        assert portal.folder(me, bad).status_code == 404, bad
        assert portal.items(me, bad).status_code == 404, bad
        assert portal.patch_folder(me, bad, name="x").status_code == 404, bad
        assert portal.rmdir(me, bad).status_code == 404, bad
        assert portal.mkdir_response(me, "x", bad).status_code == 404, bad
        assert portal.patch_folder(me, a["id"], parent_id=bad).status_code == 404, bad
        assert portal.put(me, "y.txt", b"y", folder_id=bad).status_code == 404, bad
        # Search narrowed to a folder that is not one finds nothing (or a malformed id: 404).
        narrowed = portal.list_files(me, folder_id=bad)
        if bad in (UNKNOWN_ID, file["id"]):
            assert narrowed.status_code == 200 and narrowed.json()["items"] == [], bad
        else:
            assert narrowed.status_code == 404, bad
    # An encoded slash or dot-dot in the id is still only a bad id.
    for raw in ("%2E%2E", "a%2Fb", "%00"):
        assert portal.folder(me, raw).status_code == 404, raw
    # Nothing was made by any of it.
    assert {e["name"] for e in portal.all_items(me, "root")} == {"a", "f.txt"}


@pytest.mark.parametrize(
    "name",
    [
        "/",
        "a/b",
        "a\\b",
        "..",
        ".",
        "\x00",
        " ",
        "é" * 128,  # 256 bytes of UTF-8
        "x" * 256,
    ],
    ids=["slash", "inner-slash", "backslash", "dotdot", "dot", "nul", "blank", "256-utf8", "256"],
)
def test_bad_folder_names_are_400(portal: Tree, name: str) -> None:
    me = portal.user()
    a = portal.mkdir(me, "a")
    response = portal.mkdir_response(me, name)
    assert response.status_code == 400, response.text
    renamed = portal.patch_folder(me, a["id"], name=name)
    assert renamed.status_code == 400, renamed.text
    assert [e["name"] for e in portal.all_items(me, "root")] == ["a"]


def test_names_are_cleaned_and_255_bytes_fit(portal: Tree) -> None:
    me = portal.user()
    # NUL and control characters are cleaned away (§5), not stored.
    assert portal.mkdir(me, "a\x00b\x1fc")["name"] == "abc"
    longest = "é" * 127 + "x"  # 255 bytes
    assert portal.mkdir(me, longest)["name"] == longest
    # The empty name and a broken body are refused (422: §5's answer for JSON bodies).
    assert portal.mkdir_response(me, "").status_code == 422
    as_json = {**me, "Content-Type": "application/json"}
    broken = portal.http.post(f"{portal.metadata}/api/folders", content=b"{no", headers=as_json)
    assert broken.status_code == 422
    assert sorted(e["name"] for e in portal.all_items(me, "root")) == ["abc", longest]


def test_bad_cursors_are_400(portal: Tree) -> None:
    me = portal.user()
    top = portal.mkdir(me, "top")
    for name in ("b", "c", "d"):
        portal.mkdir(me, name, top["id"])
    for name in ("x.txt", "y.txt", "z.txt"):
        portal.put_ok(me, name, b"abc", folder_id=top["id"])
    in_folders = portal.items(me, top["id"], limit=1).json()["next_cursor"]
    in_files = portal.items(me, top["id"], limit=4).json()["next_cursor"]
    listing = portal.list_files(me, limit=1).json()["next_cursor"]
    assert in_folders and in_files and listing
    bad = [
        "garbage",
        "dgarbage",
        "fgarbage",
        "x" + in_folders[1:],
        in_folders[:-3],
        in_folders + "AAAA",
        "f\x00",
        "d" + "A" * 4000,
    ]
    for cursor in bad:
        response = portal.items(me, top["id"], cursor=cursor)
        assert response.status_code == 400, (cursor, response.text)
    # A cursor made for one sort, or for another listing, is refused by the next.
    assert portal.items(me, top["id"], cursor=in_folders, sort="-created_at").status_code == 400
    assert portal.items(me, top["id"], cursor=in_files, sort="size").status_code == 400
    assert portal.items(me, top["id"], cursor=listing).status_code == 400
    for params in ({"limit": 0}, {"limit": 1001}, {"limit": "x"}, {"sort": "owner"}):
        assert portal.items(me, top["id"], **params).status_code == 400, params


def test_resolve_by_path(portal: Tree) -> None:
    me = portal.user()
    a = portal.mkdir(me, "Photos")
    b = portal.mkdir(me, "2026", a["id"])
    held = portal.put_ok(me, "a.jpg", b"jpeg", folder_id=b["id"])
    found = portal.resolve(me, "/Photos/2026/a.jpg")
    assert found.status_code == 200 and found.json()["id"] == held["id"]
    assert found.json()["kind"] == "file" and found.json()["path"] == "/Photos/2026/a.jpg"
    assert found.json()["folder_id"] == b["id"]
    # Names compare folded, and the slashes at the ends do not matter.
    assert portal.resolve(me, "photos/2026/A.JPG").json()["id"] == held["id"]
    assert portal.resolve(me, "/photos/2026/").json()["id"] == b["id"]
    assert portal.resolve(me, "/photos").json()["kind"] == "folder"
    assert portal.resolve(me, "/").json()["path"] == "/"
    for missing in ("/nope", "/Photos/nope", "/Photos/2026/a.jpg/more", "/Photos/2026/a"):
        assert portal.resolve(me, missing).status_code == 404, missing
    assert portal.resolve(me, "/Photos/../Photos").status_code == 400
    assert portal.resolve(me, "/Photos/2026/\x00").status_code == 404
    assert portal.http.get(f"{portal.metadata}/api/resolve", headers=me).status_code == 400


def test_delete_a_folder_removes_the_subtree_and_its_blobs(portal: Tree) -> None:
    me = portal.user()
    keep = portal.mkdir(me, "keep")
    gone = portal.mkdir(me, "gone")
    deep = portal.mkdir(me, "deep", gone["id"])
    kept = portal.put_ok(me, "k.txt", b"kept", folder_id=keep["id"])
    inside = [
        portal.put_ok(me, "g.txt", b"gone 1", folder_id=gone["id"]),
        portal.put_ok(me, "d.txt", b"gone 2", folder_id=deep["id"]),
    ]
    share = portal.http.post(
        f"{portal.metadata}/api/files/{inside[1]['id']}/shares", json={}, headers=me
    )
    assert share.status_code == 201, share.text
    blobs = [portal.blob_path(portal.blob_key(f["id"])) for f in inside]
    kept_blob = portal.blob_path(portal.blob_key(kept["id"]))
    assert all(p.is_file() for p in [*blobs, kept_blob])

    response = portal.rmdir(me, gone["id"])
    assert response.status_code == 204, response.text
    assert not any(p.exists() for p in blobs)
    assert kept_blob.is_file()
    for f in inside:
        assert portal.record(me, f["id"]).status_code == 404
        assert portal.content(me, f["id"]).status_code == 404
    for folder in (gone, deep):
        assert portal.folder(me, folder["id"]).status_code == 404
    assert portal.http.get(f"{portal.download}{share.json()['url']}").status_code == 404
    assert not any(r["entry_id"] in {gone["id"], deep["id"]} for r in portal.rows("entry_names"))
    assert [e["name"] for e in portal.all_items(me, "root")] == ["keep"]
    # The names are free again.
    portal.mkdir(me, "gone")
    # The root is no record: it cannot be deleted.
    assert portal.rmdir(me, "root").status_code == 404
    assert [e["name"] for e in portal.all_items(me, "root")] == ["gone", "keep"]
