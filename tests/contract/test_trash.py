"""The trash on SQL (SQLite and PostgreSQL; only services with the database have it): items,
the sweeper's purge with a shortened clock (record first, then blobs; once per item even
with two sweepers), and what the upload path's catalog sees of trashed files."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from filebay.catalog.files import ROOT, ListQuery, OnConflict
from filebay.catalog.sql.trash import SqlTrash
from filebay.errors import NotFound
from filebay.upkeep.trash import purge_expired
from tests.contract.helpers import Subjects, SubjectsRunner, new_file


class Store:
    """Records which blobs were deleted (a blob store's ``delete`` and nothing else)."""

    def __init__(self) -> None:
        self.deleted: list[str] = []

    async def delete(self, key: str) -> None:
        self.deleted.append(key)


def trash_of(s: Subjects) -> SqlTrash:
    return SqlTrash(s.sql.engine)


def test_the_sweeper_purges_what_is_older_than_the_days_record_then_blob(
    run_sql: SubjectsRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("filebay.transfer.removal.remove_thumbnails", _no_thumbnails)

    async def scenario(s: Subjects) -> None:
        trash = trash_of(s)
        folder = await s.catalog.ensure_folders("alice", ROOT, ["box"])
        inside = await s.catalog.add(replace(new_file("alice", "in.txt", 5), folder_id=folder))
        alone = await s.catalog.add(new_file("alice", "alone.txt", 7))
        await trash.trash_folder(folder, "alice")
        await trash.trash_file(alone.id, "alice")
        assert await trash.trash_bytes("alice") == 12
        assert await s.catalog.usage("alice") == 12  # still counted
        store = Store()
        now = datetime.now(UTC)
        assert await purge_expired(trash, store, 30, now) == 0  # not old enough
        later = now + timedelta(days=30, seconds=1)
        # Two sweepers at once (replicas): each item once, every blob once.
        counts = await asyncio.gather(
            purge_expired(trash, store, 30, later), purge_expired(trash, store, 30, later)
        )
        assert sum(counts) == 2
        assert sorted(store.deleted) == sorted([inside.blob_key, alone.blob_key])
        assert await s.catalog.usage("alice") == 0
        everything = await s.catalog.list("alice", ListQuery(include_trash=True))
        assert everything.items == []
        assert (await trash.list_trash("alice", 10, None)).items == []

    run_sql(scenario)


def test_trashed_files_are_hidden_but_found_for_deleting_their_owner(
    run_sql: SubjectsRunner,
) -> None:
    async def scenario(s: Subjects) -> None:
        trash = trash_of(s)
        record = await s.catalog.add(new_file("alice", "a.txt"))
        await trash.trash_file(record.id, "alice")
        with pytest.raises(NotFound):
            await s.catalog.get(record.id, "alice")
        assert (await s.catalog.list("alice", ListQuery())).items == []
        hidden = await s.catalog.list("alice", ListQuery(include_trash=True))
        assert [r.id for r in hidden.items] == [record.id]
        # The name is free: a new file takes it without a number.
        again = await s.catalog.add(
            replace(new_file("alice", "a.txt"), on_conflict=OnConflict.fail)
        )
        assert again.name == "a.txt"
        with pytest.raises(NotFound):
            await trash.trash_file(record.id, "alice")  # already there

    run_sql(scenario)


def test_pages_of_the_trash_go_newest_first(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        trash = trash_of(s)
        ids = []
        for i in range(5):
            record = await s.catalog.add(new_file("alice", f"f{i}"))
            ids.append((await trash.trash_file(record.id, "alice")).id)
        seen, cursor = [], None
        while True:
            page = await trash.list_trash("alice", 2, cursor)
            seen.extend(i.id for i in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == list(reversed(ids))

    run_sql(scenario)


async def _no_thumbnails(store: object, key: str) -> None:
    return None


def test_replace_trashes_the_old_file_or_without_a_trash_hands_back_its_blob(
    run_sql: SubjectsRunner,
) -> None:
    async def scenario(s: Subjects) -> None:
        trash = trash_of(s)
        old = await s.catalog.add(new_file("alice", "n.txt"))
        new = await s.catalog.add(
            replace(new_file("alice", "N.txt"), on_conflict=OnConflict.replace)
        )
        assert new.replaced_blob_key is None
        (item,) = (await trash.list_trash("alice", 10, None)).items
        assert (item.entry_id, item.original_path) == (old.id, "/n.txt")
        s.sql.keep_trash = False  # FILEBAY_TRASH_DAYS=0
        newer = await s.catalog.add(
            replace(new_file("alice", "n.txt"), on_conflict=OnConflict.replace)
        )
        assert newer.replaced_blob_key == new.blob_key
        assert len((await trash.list_trash("alice", 10, None)).items) == 1

    run_sql(scenario)
