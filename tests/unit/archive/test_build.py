"""filebay.archive.build: entry names made safe and unique, a deterministic order, and
CRC-32s filled in once for files recorded without one."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from filebay.archive.build import entries_of, fill_crc32, safe_path
from filebay.catalog.archives import ArchiveFile, ArchiveFolder, Selection
from filebay.catalog.files import FileRecord

WHEN = datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC)


def record(file_id: str, name: str, crc32: int | None = 7) -> FileRecord:
    return FileRecord(file_id * 32, "alice", name, 3, "text/plain", "0" * 64, file_id * 32,
                      WHEN, WHEN, crc32=crc32)  # fmt: skip


def test_unsafe_segments_are_replaced_never_kept() -> None:
    assert safe_path("/a/../b/./c\\d") == "a/_/b/_/c_d"
    assert safe_path("ok/name.txt") == "ok/name.txt"


def test_the_order_ignores_how_the_selection_came_and_clashes_are_numbered() -> None:
    folders = [ArchiveFolder("photos", WHEN), ArchiveFolder("Photos", WHEN)]
    files = [
        ArchiveFile("a.txt", record("1", "a.txt")),
        ArchiveFile("A.TXT", record("2", "A.TXT")),
        ArchiveFile("photos", record("3", "photos")),
    ]
    one = entries_of(Selection(folders, files))
    other = entries_of(Selection(list(reversed(folders)), list(reversed(files))))
    assert [e.name for e in one] == [e.name for e in other]
    names = [e.name for e in one]
    # One folder of that name (the first in byte order); later files get a number.
    assert [n for n in names if n.endswith("/")] == ["Photos/"]
    assert sorted(n for n in names if not n.endswith("/")) == ["A.TXT", "a (2).txt", "photos (2)"]


def test_missing_crc32s_are_computed_from_the_bytes_and_kept() -> None:
    data = {("1" * 32): b"one", ("2" * 32): b"two"}
    kept: dict[str, int] = {}

    class Store:
        async def read(
            self, key: str, start: int = 0, end: int | None = None
        ) -> AsyncIterator[bytes]:
            yield data[key]

    class Catalog:
        async def set_crc32(self, file_id: str, crc32: int) -> None:
            kept[file_id] = crc32

    files = [ArchiveFile("a", record("1", "a", None)), ArchiveFile("b", record("2", "b", 99))]
    filled = asyncio.run(fill_crc32(Catalog(), Store(), files))  # type: ignore[arg-type]
    assert [f.record.crc32 for f in filled] == [zlib.crc32(b"one"), 99]
    assert kept == {"1" * 32: zlib.crc32(b"one")}
