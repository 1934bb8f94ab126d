"""The Catalog contract (filebay.catalog.files), run against every implementation.

Every test gets an empty catalog from the ``run`` fixture: SqlCatalog on SQLite and on
PostgreSQL, and HttpCatalog talking to a real metadata service.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from datetime import UTC, datetime

import pytest

from filebay.catalog.cursor import Cursor, encode_cursor
from filebay.catalog.files import Catalog, FileRecord, ListQuery, NewFile, SortKey
from filebay.catalog.quota import Quota
from filebay.errors import InvalidCursor, NotFound, QuotaExceeded
from filebay.ids import new_id
from tests.contract.helpers import Runner, new_file

Q100 = Quota(max_bytes=100)

MALFORMED_IDS = [
    "",
    "x",
    "../../etc/passwd",
    "A" * 32,
    "0" * 31,
    "0" * 33,
    "g" * 32,
    "0" * 32 + "\n",
    "%30" * 32,
]


async def add_all(catalog: Catalog, files: list[NewFile]) -> list[FileRecord]:
    return [await catalog.add(new) for new in files]


async def walk(
    catalog: Catalog, owner: str | None, sort: SortKey, limit: int, q: str | None = None
) -> list[FileRecord]:
    """Every page in turn, checking each page's shape on the way."""
    seen: list[FileRecord] = []
    cursor: str | None = None
    for _ in range(1000):
        page = await catalog.list(owner, ListQuery(limit=limit, cursor=cursor, q=q, sort=sort))
        assert len(page.items) <= limit
        seen.extend(page.items)
        if page.next_cursor is None:
            return seen
        assert len(page.items) == limit  # only a full page may have a next one
        cursor = page.next_cursor
    raise AssertionError("pagination did not end")


def sort_key(record: FileRecord, sort: SortKey) -> tuple[object, str]:
    return getattr(record, sort.column), record.id


def test_add_returns_the_record_and_get_finds_it(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        new = new_file("alice", "Report 2024.pdf", 1234, "application/pdf")
        before = datetime.now(UTC)
        record = await catalog.add(new)
        for field in ("id", "owner", "name", "size", "content_type", "sha256", "blob_key"):
            assert getattr(record, field) == getattr(new, field)
        assert record.created_at.tzinfo is not None and record.updated_at.tzinfo is not None
        assert abs((record.created_at - before).total_seconds()) < 60
        assert record.updated_at == record.created_at
        assert await catalog.get(new.id, "alice") == record
        assert await catalog.get(new.id, None) == record

    run(scenario)


def test_another_owners_record_is_not_found(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        record = await catalog.add(new_file("alice", "mine.txt"))
        with pytest.raises(NotFound):
            await catalog.get(record.id, "bob")
        with pytest.raises(NotFound):
            await catalog.rename(record.id, "bob", "stolen.txt")
        with pytest.raises(NotFound):
            await catalog.delete(record.id, "bob")
        assert await catalog.get(record.id, "alice") == record  # untouched

    run(scenario)


def test_an_unknown_id_is_not_found(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        await catalog.add(new_file("alice", "a.txt"))
        unknown = new_id()
        for owner in ("alice", None):
            with pytest.raises(NotFound):
                await catalog.get(unknown, owner)
            with pytest.raises(NotFound):
                await catalog.rename(unknown, owner, "b.txt")
            with pytest.raises(NotFound):
                await catalog.delete(unknown, owner)

    run(scenario)


def test_a_malformed_id_is_not_found(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        await catalog.add(new_file("alice", "a.txt"))
        for file_id, owner in itertools.product(MALFORMED_IDS, ("alice", None)):
            with pytest.raises(NotFound):
                await catalog.get(file_id, owner)
            with pytest.raises(NotFound):
                await catalog.rename(file_id, owner, "b.txt")
            with pytest.raises(NotFound):
                await catalog.delete(file_id, owner)

    run(scenario)


def test_rename_changes_the_name_and_updated_at_only(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        record = await catalog.add(new_file("alice", "draft.txt"))
        renamed = await catalog.rename(record.id, "alice", "final — 最終.txt")
        assert renamed.name == "final — 最終.txt"
        assert renamed.updated_at >= record.updated_at
        assert renamed.created_at == record.created_at
        for field in ("id", "owner", "size", "content_type", "sha256", "blob_key"):
            assert getattr(renamed, field) == getattr(record, field)
        assert await catalog.get(record.id, "alice") == renamed

    run(scenario)


def test_owner_none_may_rename_and_delete_anyones_record(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        record = await catalog.add(new_file("alice", "a.txt"))
        assert (await catalog.rename(record.id, None, "by admin.txt")).name == "by admin.txt"
        deleted = await catalog.delete(record.id, None)
        assert deleted.id == record.id and deleted.name == "by admin.txt"
        with pytest.raises(NotFound):
            await catalog.get(record.id, None)

    run(scenario)


def test_delete_returns_the_record_once(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        keep = await catalog.add(new_file("alice", "keep.txt"))
        record = await catalog.add(new_file("alice", "bye.txt", 42))
        assert await catalog.delete(record.id, "alice") == record
        with pytest.raises(NotFound):
            await catalog.get(record.id, "alice")
        with pytest.raises(NotFound):
            await catalog.delete(record.id, "alice")
        page = await catalog.list("alice", ListQuery())
        assert [r.id for r in page.items] == [keep.id]

    run(scenario)


def test_list_is_scoped_by_owner_and_none_sees_all(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        alice = await add_all(catalog, [new_file("alice", f"a{n}.txt") for n in range(3)])
        bob = await add_all(catalog, [new_file("bob", f"b{n}.txt") for n in range(2)])
        page = await catalog.list("alice", ListQuery())
        assert {r.id for r in page.items} == {r.id for r in alice}
        assert page.next_cursor is None
        assert {r.id for r in (await catalog.list("bob", ListQuery())).items} == {r.id for r in bob}
        assert (await catalog.list("carol", ListQuery())).items == []
        everyone = await catalog.list(None, ListQuery())
        assert {r.id for r in everyone.items} == {r.id for r in alice + bob}

    run(scenario)


def test_the_default_order_is_newest_first(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        added = await add_all(catalog, [new_file("alice", f"f{n}") for n in range(4)])
        page = await catalog.list("alice", ListQuery())
        want = sorted(added, key=lambda r: sort_key(r, SortKey.created_at), reverse=True)
        assert page.items == want

    run(scenario)


# Names of lowercase letters only, so that every collation orders them alike; few distinct
# names and sizes, so the sort key ties often and the id must break the ties.
NAMES = ["alpha", "bravo", "charlie"]
SIZES = [0, 7, 7, 1000]


@pytest.mark.parametrize("sort", list(SortKey), ids=[s.value for s in SortKey])
@pytest.mark.parametrize("limit", [1, 3, 5])
def test_pagination_visits_every_record_once_in_order(
    run: Runner, sort: SortKey, limit: int
) -> None:
    async def scenario(catalog: Catalog) -> None:
        files = [new_file("alice", NAMES[n % len(NAMES)], SIZES[n % len(SIZES)]) for n in range(15)]
        files += [new_file("bob", NAMES[n % 2], SIZES[n % 3]) for n in range(5)]
        added = await add_all(catalog, files)
        for owner in ("alice", None):
            mine = [r for r in added if owner is None or r.owner == owner]
            seen = await walk(catalog, owner, sort, limit)
            assert len(seen) == len({r.id for r in seen}) == len(mine)
            want = sorted(mine, key=lambda r: sort_key(r, sort), reverse=sort.descending)
            assert seen == want

    run(scenario)


def test_a_page_that_ends_exactly_at_the_last_record_has_no_next_cursor(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        await add_all(catalog, [new_file("alice", f"f{n}") for n in range(6)])
        first = await catalog.list("alice", ListQuery(limit=3, sort=SortKey.name))
        assert len(first.items) == 3 and first.next_cursor is not None
        second = await catalog.list(
            "alice", ListQuery(limit=3, cursor=first.next_cursor, sort=SortKey.name)
        )
        assert len(second.items) == 3 and second.next_cursor is None
        whole = await catalog.list("alice", ListQuery(limit=6))
        assert len(whole.items) == 6 and whole.next_cursor is None

    run(scenario)


def test_a_cursor_skips_records_deleted_meanwhile(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        added = await add_all(catalog, [new_file("alice", f"f{n}", n) for n in range(6)])
        first = await catalog.list("alice", ListQuery(limit=2, sort=SortKey.size))
        assert [r.size for r in first.items] == [0, 1]
        await catalog.delete(added[1].id, "alice")  # the cursor's own row
        await catalog.delete(added[2].id, "alice")
        rest = await walk_from(catalog, first.next_cursor, SortKey.size)
        assert [r.size for r in rest] == [3, 4, 5]

    run(scenario)


async def walk_from(catalog: Catalog, cursor: str | None, sort: SortKey) -> list[FileRecord]:
    page = await catalog.list("alice", ListQuery(limit=100, cursor=cursor, sort=sort))
    assert page.next_cursor is None
    return page.items


SEARCH_NAMES = [
    "Report 2024.pdf",
    "annual-REPORT.PDF",
    "notes.txt",
    "100%.txt",
    "1000.txt",
    "a_b.txt",
    "axb.txt",
    "back\\slash.txt",
    "backslash.txt",
]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("report", {"Report 2024.pdf", "annual-REPORT.PDF"}),
        ("REPORT", {"Report 2024.pdf", "annual-REPORT.PDF"}),
        ("RePoRt 20", {"Report 2024.pdf"}),
        (".pdf", {"Report 2024.pdf", "annual-REPORT.PDF"}),
        ("%", {"100%.txt"}),
        ("100%", {"100%.txt"}),
        ("0%.", {"100%.txt"}),
        ("_", {"a_b.txt"}),
        ("a_b", {"a_b.txt"}),
        ("\\", {"back\\slash.txt"}),
        ("\\s", {"back\\slash.txt"}),
        ("'", set()),
        ('"', set()),
        ("nothing like it", set()),
        ("\x00", set()),
    ],
)
def test_search_is_case_insensitive_and_literal(run: Runner, q: str, expected: set[str]) -> None:
    async def scenario(catalog: Catalog) -> None:
        await add_all(catalog, [new_file("alice", name) for name in SEARCH_NAMES])
        await catalog.add(new_file("bob", "bob's report.pdf"))
        page = await catalog.list("alice", ListQuery(q=q, limit=100))
        assert {r.name for r in page.items} == expected
        everyone = await catalog.list(None, ListQuery(q=q, limit=100))
        assert {r.name for r in everyone.items if r.owner == "alice"} == expected

    run(scenario)


def test_search_pages_through_matches_only(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        await add_all(catalog, [new_file("alice", f"match {n}.txt", n) for n in range(7)])
        await add_all(catalog, [new_file("alice", f"other {n}.txt", n) for n in range(7)])
        for sort in SortKey:
            seen = await walk(catalog, "alice", sort, limit=2, q="MATCH")
            assert sorted(r.name for r in seen) == [f"match {n}.txt" for n in range(7)]

    run(scenario)


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "!!!!",
        "W10",  # base64 of "[]"
        encode_cursor(Cursor(SortKey.size, 2**70, new_id())),
        encode_cursor(Cursor(SortKey.size, -5, new_id())),
        encode_cursor(Cursor(SortKey.name, "nul\x00", new_id())),
        encode_cursor(Cursor(SortKey.name, "x", "not-an-id")),
    ],
)
def test_an_invalid_cursor_is_invalid_cursor(run: Runner, cursor: str) -> None:
    async def scenario(catalog: Catalog) -> None:
        await catalog.add(new_file("alice", "a.txt"))
        for sort, owner in itertools.product([SortKey.name, SortKey.size], ["alice", None]):
            with pytest.raises(InvalidCursor):
                await catalog.list(owner, ListQuery(cursor=cursor, sort=sort))

    run(scenario)


def test_a_cursor_of_another_sort_is_invalid_cursor(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        await add_all(catalog, [new_file("alice", f"f{n}") for n in range(3)])
        for made_for in SortKey:
            page = await catalog.list("alice", ListQuery(limit=1, sort=made_for))
            assert page.next_cursor is not None
            for used_with in SortKey:
                query = ListQuery(limit=1, cursor=page.next_cursor, sort=used_with)
                if used_with == made_for:
                    assert len((await catalog.list("alice", query)).items) == 1
                else:
                    with pytest.raises(InvalidCursor):
                        await catalog.list("alice", query)

    run(scenario)


def test_iter_all_yields_every_record_of_every_owner_once(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        added = await add_all(
            catalog, [new_file(owner, NAMES[n % 3]) for n, owner in enumerate("aabbbcc")]
        )
        seen = [record async for record in catalog.iter_all()]
        assert sorted(r.id for r in seen) == sorted(r.id for r in added)
        assert {r.id: r for r in seen} == {r.id: r for r in added}

    run(scenario)


def test_iter_all_of_an_empty_catalog_is_empty(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        assert [record async for record in catalog.iter_all()] == []

    run(scenario)


def test_ping_answers_when_the_catalog_is_up(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        await catalog.ping()

    run(scenario)


def test_usage_is_the_sum_of_an_owners_sizes(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        assert await catalog.usage("alice") == 0
        await add_all(catalog, [new_file("alice", "a", 10), new_file("alice", "b", 5)])
        await catalog.add(new_file("bob", "c", 1000))
        assert await catalog.usage("alice") == 15
        assert await catalog.usage("bob") == 1000
        assert await catalog.usage("carol") == 0

    run(scenario)


def test_add_within_the_quota_succeeds_and_beyond_it_records_nothing(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        await catalog.add(new_file("alice", "a", 60), quota=Q100)
        await catalog.add(new_file("alice", "b", 40), quota=Q100)  # exactly full
        over = new_file("alice", "c", 1)
        with pytest.raises(QuotaExceeded) as info:
            await catalog.add(over, quota=Q100)
        assert info.value.status == 413
        with pytest.raises(NotFound):
            await catalog.get(over.id, None)
        assert await catalog.usage("alice") == 100
        await catalog.add(new_file("bob", "d", 100), quota=Q100)  # quotas are per owner

    run(scenario)


def test_at_or_over_the_byte_quota_not_even_an_empty_file_is_recorded(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        await catalog.add(new_file("alice", "full", 100), quota=Q100)
        empty = new_file("alice", "empty", 0)
        with pytest.raises(QuotaExceeded):
            await catalog.add(empty, quota=Q100)
        with pytest.raises(NotFound):
            await catalog.get(empty.id, None)
        await catalog.add(new_file("alice", "no quota", 0))  # no quota given: no limit

    run(scenario)


def test_the_file_count_quota_holds_alone_and_with_bytes(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        three = Quota(max_files=3)
        for i in range(3):
            await catalog.add(new_file("alice", f"f{i}", 0), quota=three)
        with pytest.raises(QuotaExceeded) as info:
            await catalog.add(new_file("alice", "f3", 0), quota=three)
        assert info.value.status == 413 and "files" in info.value.detail
        both = Quota(max_bytes=10, max_files=5)
        with pytest.raises(QuotaExceeded):  # 3 + 3 files > 5, though the bytes fit
            await catalog.add_many([new_file("alice", f"g{i}", 1) for i in range(3)], quota=both)
        fits = await catalog.add_many([new_file("alice", f"h{i}", 1) for i in range(2)], both)
        assert len(fits) == 2
        page = await catalog.list("alice", ListQuery(limit=100))
        assert len(page.items) == 5

    run(scenario)


def test_concurrent_adds_all_land_with_their_own_records(run: Runner) -> None:
    # On SQL these share transactions (group commit); each caller still gets its own record.
    async def scenario(catalog: Catalog) -> None:
        files = [new_file("alice", f"f{i:02d}", size=i + 1) for i in range(40)]
        records = await asyncio.gather(*(catalog.add(f) for f in files))
        assert [r.id for r in records] == [f.id for f in files]
        assert [r.size for r in records] == [f.size for f in files]
        page = await catalog.list("alice", ListQuery(limit=100))
        assert {r.id for r in page.items} == {f.id for f in files}
        assert await catalog.usage("alice") == sum(range(1, 41))

    run(scenario)


def test_concurrent_adds_over_the_quota_refuse_only_what_does_not_fit(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        files = [new_file("alice", f"q{i}", size=30) for i in range(6)]
        results = await asyncio.gather(
            *(catalog.add(f, quota=Q100) for f in files), return_exceptions=True
        )
        stored = [r for r in results if not isinstance(r, BaseException)]
        refused = [r for r in results if isinstance(r, BaseException)]
        assert len(stored) == 3
        assert all(isinstance(r, QuotaExceeded) for r in refused)
        assert await catalog.usage("alice") == 90

    run(scenario)


def test_a_refused_record_among_concurrent_adds_fails_alone(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        first = await catalog.add(new_file("alice", "taken"))
        clash = dataclasses.replace(new_file("alice", "clash"), id=first.id)
        others = [new_file("alice", f"ok{i}") for i in range(8)]
        results = await asyncio.gather(
            *(catalog.add(f) for f in [*others[:4], clash, *others[4:]]),
            return_exceptions=True,
        )
        assert isinstance(results[4], Exception)
        assert not any(isinstance(r, BaseException) for i, r in enumerate(results) if i != 4)
        for f in others:
            assert (await catalog.get(f.id, "alice")).name == f.name
        assert (await catalog.get(first.id, "alice")).name == "taken"

    run(scenario)


def test_add_many_records_every_file_in_order(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        files = [new_file("alice", f"part{i}.txt", size=10 + i) for i in range(5)]
        records = await catalog.add_many(files, quota=None)
        assert [(r.id, r.name, r.size) for r in records] == [(f.id, f.name, f.size) for f in files]
        for f in files:
            assert (await catalog.get(f.id, "alice")).sha256 == f.sha256

    run(scenario)


def test_add_many_over_the_quota_records_none(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        await catalog.add(new_file("alice", "old", 50))
        files = [new_file("alice", f"p{i}", 20) for i in range(3)]  # 50 + 60 > 100
        with pytest.raises(QuotaExceeded):
            await catalog.add_many(files, quota=Q100)
        for f in files:
            with pytest.raises(NotFound):
                await catalog.get(f.id, "alice")
        assert await catalog.usage("alice") == 50
        fits = await catalog.add_many(files[:2], quota=Q100)  # 50 + 40 fits
        assert len(fits) == 2

    run(scenario)


def test_add_many_with_one_refused_record_records_none(run: Runner) -> None:
    async def scenario(catalog: Catalog) -> None:
        taken = await catalog.add(new_file("alice", "taken"))
        clash = dataclasses.replace(new_file("alice", "clash"), id=taken.id)
        files = [new_file("alice", "a"), clash, new_file("alice", "b")]
        with pytest.raises(Exception):  # noqa: B017 - the database refuses the duplicate id
            await catalog.add_many(files)
        for f in (files[0], files[2]):
            with pytest.raises(NotFound):
                await catalog.get(f.id, "alice")
        assert (await catalog.get(taken.id, "alice")).name == "taken"

    run(scenario)
