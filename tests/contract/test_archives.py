"""What a zip needs of the catalog (``filebay.catalog.archives``), run against SQLite,
PostgreSQL and HttpCatalog over a real metadata service: a selection's entries with
their paths, CRC-32s filled in once, and links that expire."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from filebay.catalog.archives import ZipLink
from filebay.catalog.files import ROOT
from filebay.errors import NotFound
from tests.contract.helpers import Subjects, SubjectsRunner, new_file


def test_a_selection_holds_folders_below_and_files_with_relative_paths(
    run_all: SubjectsRunner,
) -> None:
    async def scenario(s: Subjects) -> None:
        photos = await s.catalog.ensure_folders("alice", ROOT, ["Photos"])
        year = await s.catalog.ensure_folders("alice", photos, ["2026"])
        await s.catalog.ensure_folders("alice", photos, ["empty"])
        deep = await s.catalog.add(replace(new_file("alice", "a.jpg"), folder_id=year))
        top = await s.catalog.add(new_file("alice", "top.txt"))
        chosen = await s.catalog.select("alice", [top.id], [photos])
        assert sorted(f.path for f in chosen.folders) == ["Photos", "Photos/2026", "Photos/empty"]
        assert sorted((f.path, f.record.id) for f in chosen.files) == [
            ("Photos/2026/a.jpg", deep.id),
            ("top.txt", top.id),
        ]
        everything = await s.catalog.select("alice", [], [ROOT])
        assert {f.path for f in everything.files} == {"Photos/2026/a.jpg", "top.txt"}
        with pytest.raises(NotFound):
            await s.catalog.select("bob", [top.id], [])
        with pytest.raises(NotFound):
            await s.catalog.select("bob", [], [photos])

    run_all(scenario)


def test_a_missing_crc32_is_kept_once_set(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        record = await s.catalog.add(new_file("alice", "old.bin"))
        assert record.crc32 is None
        await s.catalog.set_crc32(record.id, 0xDEADBEEF)
        assert (await s.catalog.get(record.id, "alice")).crc32 == 0xDEADBEEF
        await s.catalog.set_crc32(record.id, 1)  # only a missing value is filled in
        assert (await s.catalog.get(record.id, "alice")).crc32 == 0xDEADBEEF

    run_all(scenario)


def test_zip_links_are_found_until_they_expire(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        now = datetime.now(UTC)
        link = ZipLink("alice", ["a" * 32], [ROOT], now + timedelta(hours=24))
        await s.catalog.create_zip_link("1" * 64, link)
        found = await s.catalog.find_zip_link("1" * 64, now)
        assert found is not None
        assert (found.owner, found.file_ids, found.folder_ids) == ("alice", ["a" * 32], [ROOT])
        assert await s.catalog.find_zip_link("1" * 64, now + timedelta(hours=25)) is None
        assert await s.catalog.find_zip_link("2" * 64, now) is None

    run_all(scenario)
