"""FILEBAY_TRASH_DAYS=0: no trash, deletes are permanent as before (all-in-one, SQLite)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.folders.support import ENV, Tree
from tests.harness.portal import running_portal


@pytest.fixture(scope="module")
def no_trash(tmp_path_factory: pytest.TempPathFactory, pg_url: str) -> Iterator[Tree]:
    env = {**ENV, "FILEBAY_TRASH_DAYS": "0"}
    data_dir = tmp_path_factory.mktemp("no-trash")
    with running_portal(Tree, "all", data_dir, pg_url, env, "filebay_no_trash") as running:
        yield running


def test_deletes_and_replaces_are_permanent(no_trash: Tree) -> None:
    portal = no_trash
    who = portal.user("notrash")
    first = portal.put_ok(who, "a.txt", b"first")
    blobs = portal.blob_files()
    portal.put_ok(who, "a.txt", b"second", on_conflict="replace")
    assert len(portal.blob_files()) == len(blobs)  # the replaced blob went at once
    second = portal.resolve(who, "/a.txt").json()
    response = portal.http.delete(f"{portal.metadata}/api/files/{second['id']}", headers=who)
    assert response.status_code == 204 and "x-trash-item" not in response.headers
    assert len(portal.blob_files()) == len(blobs) - 1
    listed = portal.http.get(f"{portal.metadata}/api/trash", headers=who).json()
    assert (listed["items"], listed["trash_days"]) == ([], 0)
    assert first["id"] != second["id"]
