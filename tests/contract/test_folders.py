"""Folders (DESIGN §8.1), run against every implementation.

- What the upload path needs of the catalog (files into folders, ``on_conflict``, names
  unique after NFC + case folding, ``ensure_folders``): SQLite, PostgreSQL and HttpCatalog
  talking to a real metadata service (``run_all``).
- The tree itself (``Folders``: create, items, move, delete, resolve) only on SQL
  (``run_sql``): the metadata service and the all-in-one process serve those routes, and
  they have the database.
"""

from __future__ import annotations

import asyncio
import unicodedata
from dataclasses import replace

import pytest

from filebay.catalog.files import ROOT, FileRecord, ListQuery, NewFile, OnConflict, SortKey
from filebay.catalog.folders import FolderRecord
from filebay.catalog.sql.folders import SqlFolders
from filebay.errors import FolderCycle, InvalidCursor, NameTaken, NotFound
from filebay.ids import new_id
from tests.contract.helpers import Subjects, SubjectsRunner, new_file


def into(
    folder_id: str, name: str, on_conflict: OnConflict = OnConflict.rename, owner: str = "alice"
) -> NewFile:
    return replace(new_file(owner, name), folder_id=folder_id, on_conflict=on_conflict)


async def make_folder(subjects: Subjects, parent: str, *names: str) -> str:
    return await subjects.catalog.ensure_folders("alice", parent, list(names))


# What every implementation does (the upload path's view)


def test_files_go_into_folders_with_their_path(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        photos = await make_folder(s, ROOT, "Photos", "2026")
        record = await s.catalog.add(into(photos, "a.jpg"))
        assert (record.folder_id, record.path) == (photos, "/Photos/2026/a.jpg")
        assert (await s.catalog.get(record.id, "alice")).path == "/Photos/2026/a.jpg"
        top = await s.catalog.add(new_file("alice", "top.txt"))
        assert (top.folder_id, top.path) == (ROOT, "/top.txt")
        page = await s.catalog.list("alice", ListQuery(folder_id=photos))
        assert [r.id for r in page.items] == [record.id]
        page = await s.catalog.list("alice", ListQuery(folder_id=ROOT))
        assert [r.id for r in page.items] == [top.id]
        everywhere = await s.catalog.list("alice", ListQuery(sort=SortKey.name))
        assert [r.path for r in everywhere.items] == ["/Photos/2026/a.jpg", "/top.txt"]

    run_all(scenario)


@pytest.mark.parametrize(
    "second",
    ["a.txt", "A.TXT", "a.TxT", unicodedata.normalize("NFD", "a.txt")],
)
def test_a_name_that_folds_onto_another_is_renamed(run_all: SubjectsRunner, second: str) -> None:
    async def scenario(s: Subjects) -> None:
        first = await s.catalog.add(new_file("alice", "a.txt"))
        again = await s.catalog.add(new_file("alice", second))
        assert first.name == "a.txt"
        assert again.name == f"{second.rsplit('.', 1)[0]} (1).{second.rsplit('.', 1)[1]}"
        third = await s.catalog.add(new_file("alice", "a.txt"))
        assert third.name == "a (2).txt"
        # Another owner, or another folder, has names of its own.
        assert (await s.catalog.add(new_file("bob", "a.txt"))).name == "a.txt"
        sub = await make_folder(s, ROOT, "sub")
        assert (await s.catalog.add(into(sub, "A.txt"))).name == "A.txt"

    run_all(scenario)


def test_accented_names_fold_across_normalization_forms(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        nfc = unicodedata.normalize("NFC", "Résumé.pdf")
        nfd = unicodedata.normalize("NFD", "RÉSUMÉ.PDF")
        await s.catalog.add(new_file("alice", nfc))
        with pytest.raises(NameTaken):
            await s.catalog.add(into(ROOT, nfd, OnConflict.fail))

    run_all(scenario)


def test_on_conflict_fail_stores_nothing_and_names_the_holder(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        first = await s.catalog.add(new_file("alice", "report.pdf"))
        with pytest.raises(NameTaken) as caught:
            await s.catalog.add(into(ROOT, "REPORT.pdf", OnConflict.fail))
        assert caught.value.extra == {"existing_id": first.id}
        # A multipart upload's files go all or none: the first one is not left behind.
        with pytest.raises(NameTaken):
            await s.catalog.add_many(
                [into(ROOT, "fresh.txt"), into(ROOT, "report.pdf", OnConflict.fail)]
            )
        page = await s.catalog.list("alice", ListQuery())
        assert [r.name for r in page.items] == ["report.pdf"]
        # ...and the name the failed batch tried first is still free.
        assert (await s.catalog.add(new_file("alice", "fresh.txt"))).name == "fresh.txt"

    run_all(scenario)


def test_on_conflict_replace_takes_the_place_of_a_file(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        old = await s.catalog.add(new_file("alice", "notes.txt"))
        new = await s.catalog.add(into(ROOT, "Notes.txt", OnConflict.replace))
        assert new.replaced_blob_key is None  # the old file went to the trash (§8.2)
        with pytest.raises(NotFound):
            await s.catalog.get(old.id, "alice")
        page = await s.catalog.list("alice", ListQuery())
        assert [r.id for r in page.items] == [new.id]

    run_all(scenario)


def test_a_folder_is_never_replaced_by_a_file(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        folder = await make_folder(s, ROOT, "docs")
        with pytest.raises(NameTaken) as caught:
            await s.catalog.add(into(ROOT, "DOCS", OnConflict.replace))
        assert caught.value.extra == {"existing_id": folder}
        renamed = await s.catalog.add(into(ROOT, "docs"))
        assert renamed.name == "docs (1)"

    run_all(scenario)


def test_a_file_in_an_unknown_or_foreign_folder_is_not_found(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        bobs = await s.catalog.ensure_folders("bob", ROOT, ["private"])
        for folder in (new_id(), bobs):
            with pytest.raises(NotFound):
                await s.catalog.add(into(folder, "x.txt"))
            with pytest.raises(NotFound):
                await s.catalog.ensure_folders("alice", folder, ["a"])
        assert (await s.catalog.list("alice", ListQuery())).items == []

    run_all(scenario)


def test_ensure_folders_makes_what_is_missing_once(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        assert await s.catalog.ensure_folders("alice", ROOT, []) == ROOT
        deep = await make_folder(s, ROOT, "a", "b", "c")
        assert await make_folder(s, ROOT, "A", "B", "C") == deep
        together = await asyncio.gather(*(make_folder(s, ROOT, "x", "y") for _ in range(8)))
        assert len(set(together)) == 1
        await s.catalog.add(new_file("alice", "blocker"))
        with pytest.raises(NameTaken):
            await make_folder(s, ROOT, "blocker", "below")

    run_all(scenario)


def test_racing_uploads_of_one_name_all_get_names_of_their_own(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        records = await asyncio.gather(
            *(s.catalog.add(new_file("alice", "same.txt")) for _ in range(10))
        )
        names = sorted(r.name for r in records)
        assert names == sorted(["same.txt", *(f"same ({n}).txt" for n in range(1, 10))])

    run_all(scenario)


def test_deleting_a_file_frees_its_name(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        first = await s.catalog.add(new_file("alice", "a.txt"))
        await s.catalog.delete(first.id, "alice")
        assert (await s.catalog.add(new_file("alice", "A.txt"))).name == "A.txt"

    run_all(scenario)


def test_renaming_onto_a_taken_name_is_refused(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        await s.catalog.add(new_file("alice", "a.txt"))
        other = await s.catalog.add(new_file("alice", "b.txt"))
        with pytest.raises(NameTaken):
            await s.catalog.rename(other.id, "alice", "A.TXT")
        renamed = await s.catalog.rename(other.id, "alice", "B.txt")  # its own name, recased
        assert renamed.name == "B.txt"
        assert (await s.catalog.add(new_file("alice", "b.txt"))).name == "b (1).txt"

    run_all(scenario)


# The tree (SQL only)


def folders_of(s: Subjects) -> SqlFolders:
    return SqlFolders(s.sql.engine)


def test_two_racing_creations_of_one_name_one_wins(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        folders = folders_of(s)
        outcomes = await asyncio.gather(
            *(folders.create("alice", ROOT, name) for name in ["Docs", "docs", "DOCS"] * 4),
            return_exceptions=True,
        )
        made = [o for o in outcomes if isinstance(o, FolderRecord)]
        assert len(made) == 1
        assert all(isinstance(o, NameTaken) for o in outcomes if o not in made)
        assert {o.extra["existing_id"] for o in outcomes if isinstance(o, NameTaken)} == {
            made[0].id
        }

    run_sql(scenario)


def test_info_has_breadcrumbs_and_recursive_counts(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        folders = folders_of(s)
        a = await folders.create("alice", ROOT, "a")
        b = await folders.create("alice", a.id, "b")
        await s.catalog.add(replace(into(a.id, "1.bin"), size=10))
        await s.catalog.add(replace(into(b.id, "2.bin"), size=32))
        await s.catalog.add(replace(new_file("alice", "top.bin"), size=100))
        info = await folders.info(a.id, "alice")
        assert (info.files, info.bytes) == (2, 42)
        assert [c.name for c in info.breadcrumbs] == ["", "a"]
        assert info.to_json()["breadcrumbs"][0] == {"id": "root", "name": ""}
        deep = await folders.info(b.id, "alice")
        assert [c.id for c in deep.breadcrumbs] == ["root", a.id, b.id]
        assert deep.folder.path == "/a/b"
        root = await folders.info(ROOT, "alice")
        assert (root.files, root.bytes) == (3, 142)
        with pytest.raises(NotFound):
            await folders.info(a.id, "bob")

    run_sql(scenario)


@pytest.mark.parametrize("sort", list(SortKey))
def test_items_list_folders_first_in_keyset_pages(run_sql: SubjectsRunner, sort: SortKey) -> None:
    async def scenario(s: Subjects) -> None:
        folders = folders_of(s)
        for name in ["b-dir", "a-dir", "c-dir"]:
            await folders.create("alice", ROOT, name)
        for n, name in enumerate(["z.txt", "y.txt", "x.txt", "w.txt"]):
            await s.catalog.add(replace(new_file("alice", name), size=n))
        await s.catalog.add(new_file("bob", "not yours.txt"))
        for limit in (1, 2, 3, 7, 50):
            seen, cursor = [], None
            while True:
                page = await folders.items(ROOT, "alice", sort, limit, cursor)
                assert len(page.items) <= limit
                seen.extend(page.items)
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            kinds = [type(e).__name__ for e in seen]
            assert kinds == ["FolderRecord"] * 3 + ["FileRecord"] * 4
            folder_names = [e.name for e in seen[:3]]
            expect = sorted(folder_names, reverse=sort is SortKey.name_desc)
            if sort.column == "created_at":
                expect = ["b-dir", "a-dir", "c-dir"][:: -1 if sort.descending else 1]
            assert folder_names == expect
            files = [e for e in seen[3:] if isinstance(e, FileRecord)]
            values = [getattr(f, sort.column) for f in files]
            assert values == sorted(values, reverse=sort.descending)

    run_sql(scenario)


def test_items_refuse_a_cursor_of_another_kind(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        folders = folders_of(s)
        for bad in ("x", "dnot-base64", "f!!", "d" + "A" * 5000):
            with pytest.raises(InvalidCursor):
                await folders.items(ROOT, "alice", SortKey.name, 10, bad)

    run_sql(scenario)


def test_moving_into_itself_or_below_is_a_cycle(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        folders = folders_of(s)
        a = await folders.create("alice", ROOT, "a")
        b = await folders.create("alice", a.id, "b")
        c = await folders.create("alice", b.id, "c")
        for target in (a.id, b.id, c.id):
            with pytest.raises(FolderCycle):
                await folders.update(a.id, "alice", name=None, parent_id=target)
        moved = await folders.update(c.id, "alice", name="C2", parent_id=ROOT)
        assert (moved.parent_id, moved.path) == (ROOT, "/C2")
        # Crossing moves, each fine alone, never build a cycle together.
        x = await folders.create("alice", ROOT, "x")
        y = await folders.create("alice", ROOT, "y")
        outcomes = await asyncio.gather(
            folders.update(x.id, "alice", name=None, parent_id=y.id),
            folders.update(y.id, "alice", name=None, parent_id=x.id),
            return_exceptions=True,
        )
        assert sum(isinstance(o, FolderCycle) for o in outcomes) == 1

    run_sql(scenario)


def test_moving_a_folder_moves_what_is_inside(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        folders = folders_of(s)
        a = await folders.create("alice", ROOT, "a")
        b = await folders.create("alice", ROOT, "b")
        inner = await s.catalog.add(into(a.id, "in.txt"))
        await folders.update(a.id, "alice", name="A", parent_id=b.id)
        assert (await s.catalog.get(inner.id, "alice")).path == "/b/A/in.txt"
        assert (await folders.resolve("alice", "/b/a/IN.TXT")).id == inner.id
        # Its old name is free again; a taken name is refused.
        await folders.create("alice", ROOT, "a")
        with pytest.raises(NameTaken):
            await folders.update(b.id, "alice", name="A", parent_id=None)

    run_sql(scenario)


def test_move_file_with_each_on_conflict(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        folders = folders_of(s)
        dest = await folders.create("alice", ROOT, "dest")
        there = await s.catalog.add(into(dest.id, "f.txt"))
        mover = await s.catalog.add(new_file("alice", "F.txt"))
        with pytest.raises(NameTaken):
            await folders.move_file(mover.id, "alice", dest.id, OnConflict.fail)
        moved = await folders.move_file(mover.id, "alice", dest.id, OnConflict.rename)
        assert moved.path == "/dest/F (1).txt"
        back = await folders.move_file(mover.id, "alice", ROOT, OnConflict.rename, "f.txt")
        assert back.path == "/f.txt"
        replaced = await folders.move_file(mover.id, "alice", dest.id, OnConflict.replace)
        assert replaced.replaced_blob_key is None  # to the trash (§8.2)
        with pytest.raises(NotFound):
            await s.catalog.get(there.id, "alice")
        with pytest.raises(NotFound):
            await folders.move_file(mover.id, "bob", ROOT, OnConflict.rename)

    run_sql(scenario)


def test_deleting_a_folder_removes_the_subtree_only(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        folders = folders_of(s)
        a = await folders.create("alice", ROOT, "a")
        b = await folders.create("alice", a.id, "b")
        f1 = await s.catalog.add(into(a.id, "1"))
        f2 = await s.catalog.add(into(b.id, "2"))
        keep = await s.catalog.add(new_file("alice", "keep"))
        removed = await folders.delete(a.id, "alice")
        assert removed.folders == 2
        assert sorted(removed.blob_keys) == sorted([f1.blob_key, f2.blob_key])
        page = await s.catalog.list("alice", ListQuery())
        assert [r.id for r in page.items] == [keep.id]
        with pytest.raises(NotFound):
            await folders.get(b.id, "alice")
        assert (await folders.create("alice", ROOT, "A")).name == "A"
        with pytest.raises(NotFound):
            await folders.delete(keep.id, "alice")

    run_sql(scenario)


def test_resolve_walks_a_path(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        folders = folders_of(s)
        deep = await make_folder(s, ROOT, "Photos", "2026")
        record = await s.catalog.add(into(deep, "a.jpg"))
        assert (await folders.resolve("alice", "/photos/2026/A.JPG")).id == record.id
        assert (await folders.resolve("alice", "photos//2026/")).id == deep
        assert (await folders.resolve("alice", "/")).path == "/"
        for missing in ("/nope", "/photos/2026/a.jpg/more", "/Photos/1999"):
            with pytest.raises(NotFound):
                await folders.resolve("alice", missing)
        with pytest.raises(NotFound):
            await folders.resolve("bob", "/photos")

    run_sql(scenario)


def test_folders_of_an_owner_are_invisible_to_another(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        folders = folders_of(s)
        mine = await folders.create("alice", ROOT, "mine")
        for call in (
            folders.get(mine.id, "bob"),
            folders.items(mine.id, "bob", SortKey.name, 10, None),
            folders.update(mine.id, "bob", name="x", parent_id=None),
            folders.delete(mine.id, "bob"),
            folders.create("bob", mine.id, "inside"),
        ):
            with pytest.raises(NotFound):
                await call
        assert (await folders.create("bob", ROOT, "mine")).name == "mine"

    run_sql(scenario)
