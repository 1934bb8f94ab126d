"""Whose tree is whose: another user's folders and files answer 404 on every folder route,
and an admin's list shows their own files unless they ask for everyone's."""

from __future__ import annotations

from tests.e2e.folders.support import Tree


def test_another_users_folder_is_404_everywhere(portal: Tree) -> None:
    alice, bob = portal.user("alice"), portal.user("bob")
    secret = portal.mkdir(alice, "secret")
    inner = portal.mkdir(alice, "inner", secret["id"])
    held = portal.put_ok(alice, "s.txt", b"alice's", folder_id=secret["id"])
    mine = portal.mkdir(bob, "mine")
    own_file = portal.put_ok(bob, "b.txt", b"bob's")
    m, fid = portal.metadata, secret["id"]

    assert portal.folder(bob, fid).status_code == 404
    assert portal.items(bob, fid).status_code == 404
    assert portal.patch_folder(bob, fid, name="taken").status_code == 404
    assert portal.patch_folder(bob, mine["id"], parent_id=fid).status_code == 404
    assert portal.patch_folder(bob, inner["id"], parent_id=mine["id"]).status_code == 404
    assert portal.http.delete(f"{m}/api/folders/{fid}", headers=bob).status_code == 404
    assert portal.mkdir_response(bob, "x", fid).status_code == 404
    assert portal.resolve(bob, "/secret").status_code == 404
    assert portal.resolve(bob, "/secret/s.txt").status_code == 404
    assert portal.list_files(bob, folder_id=fid).json()["items"] == []
    # Nothing of bob's can go in: uploads of every kind, moves, copies.
    assert portal.put(bob, "x.txt", b"x", folder_id=fid).status_code == 404
    multipart = portal.http.post(
        f"{portal.upload}/api/files",
        files=[("file", ("x.txt", b"x"))],
        params={"folder_id": fid},
        headers=bob,
    )
    assert multipart.status_code == 404, multipart.text
    tus = portal.tus_upload(bob, b"x", {"filename": "x.txt", "folder_id": fid})
    assert tus.status_code == 404, tus.text
    assert portal.patch_file(bob, own_file["id"], {"folder_id": fid}).status_code == 404
    assert portal.copy(bob, own_file["id"], {"folder_id": fid}).status_code == 404
    # Nor can bob reach alice's file through his own folders.
    assert portal.patch_file(bob, held["id"], {"folder_id": mine["id"]}).status_code == 404
    assert portal.copy(bob, held["id"], {"folder_id": mine["id"]}).status_code == 404

    # alice's tree is as it was; bob's the same, with nothing of alice's in it.
    assert portal.folder(alice, fid).json()["name"] == "secret"
    assert [e["id"] for e in portal.all_items(alice, fid)] == [inner["id"], held["id"]]
    assert [e["id"] for e in portal.all_items(bob, "root")] == [mine["id"], own_file["id"]]
    # The same names are free for bob: the trees are apart.
    assert portal.mkdir(bob, "secret")["path"] == "/secret"


def test_admin_lists_own_files_unless_asking_for_all(portal: Tree) -> None:
    alice = portal.user("alice")
    hers = portal.put_ok(alice, "hers.txt", b"alice")
    admin = portal.admin()
    own = portal.put_ok(admin, "admins.txt", b"admin")

    def ids(who: dict[str, str], **params: str) -> set[str]:
        response = portal.list_files(who, limit=1000, **params)
        assert response.status_code == 200, response.text
        return {f["id"] for f in response.json()["items"]}

    by_default = ids(admin)
    assert own["id"] in by_default and hers["id"] not in by_default
    everyone = ids(admin, owner="all")
    assert {own["id"], hers["id"]} <= everyone
    only_hers = portal.list_files(admin, owner=hers["owner"]).json()["items"]
    assert [f["id"] for f in only_hers] == [hers["id"]]
    assert only_hers[0]["path"] == "/hers.txt"
    # Not for users: neither everyone's nor another one's.
    for owner in ("all", "admin"):
        refused = portal.list_files(alice, owner=owner)
        assert refused.status_code == 403, refused.text
    assert ids(alice, owner=hers["owner"]) == {hers["id"]}
    assert ids(alice) == {hers["id"]}
