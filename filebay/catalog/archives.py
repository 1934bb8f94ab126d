"""The catalog's side of zip downloads: what a selection holds (with paths relative to the
archive), each file's CRC-32 filled in once, and ``POST /api/zip`` links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from filebay.catalog.files import FileRecord

#: A selection names at most this many ids (``POST /api/zip``).
MAX_SELECTION = 100_000


@dataclass(frozen=True, slots=True)
class ArchiveFolder:
    #: ``photos/2026``: relative to the archive, no leading or trailing slash.
    path: str
    modified_at: datetime


@dataclass(frozen=True, slots=True)
class ArchiveFile:
    #: ``photos/2026/a.jpg``: relative to the archive.
    path: str
    record: FileRecord


@dataclass(frozen=True, slots=True)
class Selection:
    """A selected folder comes with its name and everything below it (empty folders too);
    a selected file comes alone, under its name. ``root`` contributes its contents."""

    folders: list[ArchiveFolder]
    files: list[ArchiveFile]


@dataclass(frozen=True, slots=True)
class ZipLink:
    owner: str
    file_ids: list[str]
    folder_ids: list[str]
    expires_at: datetime


class Archives(Protocol):
    async def select(self, owner: str, file_ids: list[str], folder_ids: list[str]) -> Selection:
        """The entries of a selection of ``owner``'s files and folders (``root`` too);
        ``NotFound`` when any id is not theirs or is in the trash, naming none."""

    async def set_crc32(self, file_id: str, crc32: int) -> None:
        """Keep the CRC-32 computed for a file recorded without one (no-op if gone)."""

    async def create_zip_link(self, token_hash: str, link: ZipLink) -> None: ...

    async def find_zip_link(self, token_hash: str, now: datetime) -> ZipLink | None:
        """The link, unless unknown or expired."""
