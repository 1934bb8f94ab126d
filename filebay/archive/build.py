"""From a selection of records to a zip layout: entry names made safe and unique, CRC-32s
of older files computed once and kept, a deterministic order."""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from filebay.archive.layout import ZipEntry, ZipLayout
from filebay.catalog.archives import ArchiveFile, Selection
from filebay.catalog.files import Catalog, FileRecord
from filebay.names import name_key, numbered
from filebay.storage.base import BlobStore

#: Older files whose CRC-32 is computed at once (each reads its whole blob).
_CRC_WORKERS = 4
_OFF_LOOP_BYTES = 256 * 1024
_EPOCH = datetime(1980, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Archive:
    layout: ZipLayout
    #: The newest time of any entry (``Last-Modified``, ``If-Range`` by date).
    modified_at: datetime
    #: The one folder or file every entry is in or is (the download's name), if there is one.
    top: str | None = None


def _safe_segment(segment: str) -> str:
    """A stored name is already clean (§5); this keeps a zip entry safe whatever it is."""
    segment = segment.replace("\\", "_").replace("\x00", "")
    return "_" if segment in ("", ".", "..") else segment


def safe_path(path: str) -> str:
    return "/".join(_safe_segment(s) for s in path.strip("/").split("/"))


async def crc32_of(store: BlobStore, record: FileRecord) -> int:
    crc = 0
    async for chunk in store.read(record.blob_key):
        # zlib.crc32 lets go of the GIL for big chunks: off the event loop they cost it
        # nothing; small ones cost less inline than a thread hop.
        if len(chunk) >= _OFF_LOOP_BYTES:
            crc = await asyncio.to_thread(zlib.crc32, chunk, crc)
        else:
            crc = zlib.crc32(chunk, crc)
    return crc


async def fill_crc32(
    catalog: Catalog, store: BlobStore, files: list[ArchiveFile]
) -> list[ArchiveFile]:
    """Each file with its CRC-32: files recorded before it was kept get theirs computed
    once here and stored, so the next zip (and any range of it) reads nothing first."""
    missing = [i for i, f in enumerate(files) if f.record.crc32 is None]
    if not missing:
        return files
    out = list(files)
    gate = asyncio.Semaphore(_CRC_WORKERS)

    async def fill(i: int) -> None:
        async with gate:
            record = files[i].record
            crc = await crc32_of(store, record)
            await catalog.set_crc32(record.id, crc)
            out[i] = ArchiveFile(files[i].path, _with_crc(record, crc))

    await asyncio.gather(*(fill(i) for i in missing))
    return out


def _with_crc(record: FileRecord, crc: int) -> FileRecord:
    return replace(record, crc32=crc)


def entries_of(selection: Selection) -> list[ZipEntry]:
    """Folders and files in one deterministic order (by path, then id); a path met twice
    (two selected folders of one name, a file next to a folder of its name) is numbered."""
    dirs = sorted({safe_path(f.path): f.modified_at for f in selection.folders}.items())
    files = sorted(selection.files, key=lambda f: (safe_path(f.path), f.record.id))
    taken: set[str] = set()
    entries: list[ZipEntry] = []
    for path, when in dirs:
        if name_key(path) in taken:
            continue
        taken.add(name_key(path))
        entries.append(ZipEntry(path + "/", modified_at=when))
    for item in files:
        path = _free_path(safe_path(item.path), taken)
        record = item.record
        entries.append(
            ZipEntry(
                path,
                record.size,
                record.crc32 or 0,
                record.created_at,
                source=record.blob_key,
                sha256=record.sha256,
            )
        )
    entries.sort(key=lambda e: e.name.encode())
    return entries


def _free_path(path: str, taken: set[str]) -> str:
    head, _, name = path.rpartition("/")
    candidate, n = path, 1
    while name_key(candidate) in taken:
        n += 1
        candidate = f"{head}/{numbered(name, n)}".lstrip("/")
    taken.add(name_key(candidate))
    return candidate


async def build_archive(
    catalog: Catalog, store: BlobStore, owner: str, file_ids: list[str], folder_ids: list[str]
) -> Archive:
    return await archive_of(catalog, store, await catalog.select(owner, file_ids, folder_ids))


async def archive_of(catalog: Catalog, store: BlobStore, selection: Selection) -> Archive:
    """The archive of a selection (older files get their CRC-32 kept on the way)."""
    files = await fill_crc32(catalog, store, selection.files)
    entries = entries_of(Selection(selection.folders, files))
    newest = max((e.modified_at for e in entries), default=_EPOCH)
    tops = {e.name.split("/", 1)[0] for e in entries}
    return Archive(ZipLayout(entries), newest, tops.pop() if len(tops) == 1 else None)
