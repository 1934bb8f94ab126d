"""Folder share links through real servers, both shapes: the public page shows the folder
and opens subfolders inside it (never above), each file downloads, "Download all" is a zip
counted as one download, and password and max_downloads hold as for file links."""

from __future__ import annotations

from typing import Any

from tests.e2e.folders.support import Tree
from tests.e2e.zip.support import read_zip
from tests.harness.http import client

Headers = dict[str, str]


def share_folder(portal: Tree, who: Headers, folder_id: str, **body: Any) -> dict[str, Any]:
    response = portal.http.post(
        f"{portal.metadata}/api/folders/{folder_id}/shares", json=body, headers=who
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_shared_folder_is_browsed_downloaded_and_zipped(portal: Tree) -> None:
    who = portal.user("fshare")
    portal.put_ok(who, "outside.txt", b"not shared")
    a = portal.put_ok(who, "trip/a.txt", b"alpha")
    b = portal.put_ok(who, "trip/day 2/b.txt", b"bravo")
    trip = portal.resolve(who, "/trip").json()
    link = share_folder(portal, who, trip["id"])
    assert link["kind"] == "folder"
    page_url = portal.download + f"/s/{link['token']}"
    listed = portal.http.get(f"{portal.metadata}/api/folders/{trip['id']}/shares", headers=who)
    assert [s["id"] for s in listed.json()["items"]] == [link["id"]]
    with client() as anyone:
        page = anyone.get(page_url)
        assert page.status_code == 200
        assert "a.txt" in page.text and "day 2" in page.text and "b.txt" not in page.text
        sub = anyone.get(page_url, params={"path": "day 2"})
        assert sub.status_code == 200 and "b.txt" in sub.text
        for outside in ("..", "../..", "nope", "day 2/.."):
            assert anyone.get(page_url, params={"path": outside}).status_code == 404
        got = anyone.get(f"{page_url}/files/{b['id']}")
        assert (got.status_code, got.content) == (200, b"bravo")
        outsider = portal.put_ok(who, "other/secret.txt", b"secret")
        assert anyone.get(f"{page_url}/files/{outsider['id']}").status_code == 404
        assert anyone.get(f"{page_url}/content").status_code == 404
        zipped = anyone.get(f"{page_url}/zip")
        assert zipped.status_code == 200
        assert "trip.zip" in zipped.headers["content-disposition"]
        assert read_zip(zipped.content) == {
            "trip/": b"",
            "trip/a.txt": b"alpha",
            "trip/day 2/": b"",
            "trip/day 2/b.txt": b"bravo",
        }
        part = anyone.get(f"{page_url}/zip", headers={"Range": "bytes=10-99"})
        assert (part.status_code, part.content) == (206, zipped.content[10:100])
    assert a["id"]


def test_a_folder_link_with_a_limit_counts_a_zip_once_and_a_password_guards_all(
    portal: Tree,
) -> None:
    who = portal.user("fshare")
    portal.put_ok(who, "box/x.bin", bytes(range(256)) * 100)
    box = portal.resolve(who, "/box").json()
    link = share_folder(portal, who, box["id"], max_downloads=1)
    url = portal.download + f"/s/{link['token']}"
    with client(cookies=True) as browser:
        whole = browser.get(f"{url}/zip")
        assert whole.status_code == 200
        # The same browser resumes the zip with Range: not counted again.
        rest = browser.get(f"{url}/zip", headers={"Range": "bytes=100-"})
        assert (rest.status_code, rest.content) == (206, whole.content[100:])
        assert browser.get(f"{url}/zip").status_code == 404  # a full GET again: none left
    with client() as other:
        assert other.get(f"{url}/zip").status_code == 404
        assert other.get(url).status_code == 404

    portal.put_ok(who, "safe/y.txt", b"why")
    safe = portal.resolve(who, "/safe").json()
    y = portal.resolve(who, "/safe/y.txt").json()
    guarded = share_folder(portal, who, safe["id"], password="open sesame")
    url = portal.download + f"/s/{guarded['token']}"
    with client(cookies=True) as browser:
        assert "y.txt" not in browser.get(url).text
        assert browser.get(f"{url}/zip").status_code == 404
        assert browser.get(f"{url}/files/{y['id']}").status_code == 404
        unlocked = browser.post(url, data={"password": "open sesame"}, follow_redirects=True)
        assert unlocked.status_code == 200 and "y.txt" in unlocked.text
        assert browser.get(f"{url}/files/{y['id']}").content == b"why"
    # A trashed folder's link is gone; restored, it works again.
    assert portal.rmdir(who, safe["id"]).status_code == 204
    assert portal.http.get(url).status_code == 404
