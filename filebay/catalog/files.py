"""The catalog contract: file records, always scoped to an owner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from filebay.catalog.quota import Quota

if TYPE_CHECKING:
    from filebay.catalog.archives import Selection, ZipLink

MAX_LIMIT = 1000
DEFAULT_LIMIT = 50


class SortKey(StrEnum):
    created_at = "created_at"
    created_at_desc = "-created_at"
    name = "name"
    name_desc = "-name"
    size = "size"
    size_desc = "-size"

    @property
    def column(self) -> str:
        return self.value.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")


class OnConflict(StrEnum):
    """What to do when a folder already has an entry of the name (after NFC + case folding)."""

    rename = "rename"  # take the first free "name (n).ext"
    replace = "replace"  # the existing file goes; a folder is never replaced
    fail = "fail"  # NameTaken (409 name_taken)


#: The stored ``folder_id`` of entries at the top of an owner's tree (the root has no record).
ROOT = ""


@dataclass(frozen=True, slots=True)
class NewFile:
    """What the upload path knows once the blob is published."""

    id: str
    owner: str
    name: str
    size: int
    content_type: str
    sha256: str
    blob_key: str
    #: The folder the file goes into (``ROOT``: the top of the owner's tree).
    folder_id: str = ROOT
    on_conflict: OnConflict = OnConflict.rename
    #: CRC-32 of the bytes, computed on the way in (zip entries need it); None: not known.
    crc32: int | None = None


@dataclass(frozen=True, slots=True)
class FileRecord:
    id: str
    owner: str
    name: str
    size: int
    content_type: str
    sha256: str
    blob_key: str
    created_at: datetime
    updated_at: datetime
    #: Has a usable share link (filled in by list; False elsewhere).
    shared: bool = False
    folder_id: str = ROOT
    #: ``/photos/2026/a.jpg``: the names of the folders above, then the file's.
    path: str = ""
    #: The blob of a file this one replaced (``on_conflict=replace``): the caller deletes it
    #: once the record is committed. Never shown.
    replaced_blob_key: str | None = None
    #: CRC-32 of the bytes; None for files recorded before it was kept (computed lazily).
    crc32: int | None = None

    def to_json(self) -> dict[str, Any]:
        # Field by field: dataclasses.asdict deep-copies every value (a tenth of a small
        # request's CPU went there).
        return {
            "kind": "file",
            "id": self.id,
            "owner": self.owner,
            "name": self.name,
            "size": self.size,
            "content_type": self.content_type,
            "sha256": self.sha256,
            "blob_key": self.blob_key,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "updated_at": self.updated_at.isoformat().replace("+00:00", "Z"),
            "shared": self.shared,
            "folder_id": self.folder_id or None,
            "path": self.path,
        }


@dataclass(frozen=True, slots=True)
class ListQuery:
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    q: str | None = None
    sort: SortKey = SortKey.created_at_desc
    #: Only the files directly in this folder (``ROOT`` for the top); ``None``: every folder.
    folder_id: str | None = None
    #: Files in the trash too (deleting an owner's files); never from the HTTP API.
    include_trash: bool = False


@dataclass(frozen=True, slots=True)
class Page:
    items: list[FileRecord]
    next_cursor: str | None


class Catalog(Protocol):
    """File metadata. ``owner=None`` means every owner (admins, fsck); otherwise every call
    sees only that owner's records, and another owner's record is ``NotFound``."""

    async def add(self, new: NewFile, quota: Quota | None = None) -> FileRecord:
        """Record a file whose blob is already published; ``QuotaExceeded`` when it does not
        fit the owner's ``quota`` (stored files plus unfinished uploads, see
        ``filebay.catalog.sql.quota``)."""

    async def add_many(self, news: list[NewFile], quota: Quota | None = None) -> list[FileRecord]:
        """Record several files of one owner in one transaction: all of them or none
        (``QuotaExceeded`` when together they do not fit)."""

    async def usage(self, owner: str) -> int:
        """Bytes stored by ``owner``."""

    async def owners(self) -> list[str]:
        """Every owner that has files."""

    async def get(self, file_id: str, owner: str | None) -> FileRecord:
        """One record, or ``NotFound``."""

    async def list(self, owner: str | None, query: ListQuery) -> Page:
        """A keyset-paginated page; ``InvalidCursor`` for a cursor of another sort."""

    async def rename(self, file_id: str, owner: str | None, name: str) -> FileRecord:
        """Change the name (already cleaned and checked) and ``updated_at``."""

    async def delete(self, file_id: str, owner: str | None) -> FileRecord:
        """Remove the record and return it, so the caller can delete the blob after."""

    async def ensure_folders(self, owner: str, parent_id: str, names: list[str]) -> str:
        """The id of the folder ``parent_id``/``names[0]``/…, creating the missing ones
        (``NotFound`` for an unknown ``parent_id``, ``NameTaken`` when a file has one of the
        names); ``parent_id`` itself when ``names`` is empty."""

    async def select(self, owner: str, file_ids: list[str], folder_ids: list[str]) -> Selection:
        """What a zip of these files and folders holds (``filebay.catalog.archives``)."""

    async def set_crc32(self, file_id: str, crc32: int) -> None:
        """Keep a CRC-32 computed lazily for a file recorded without one."""

    async def create_zip_link(self, token_hash: str, link: ZipLink) -> None: ...

    async def find_zip_link(self, token_hash: str, now: datetime) -> ZipLink | None: ...

    async def ping(self) -> None:
        """Raise ``CatalogUnavailable`` unless the database answers."""

    def iter_all(self) -> AsyncIterator[FileRecord]:
        """Every record, for fsck."""

    async def close(self) -> None:
        """Release connections."""
