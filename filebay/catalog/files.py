"""The catalog contract: file records, always scoped to an owner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from filebay.catalog.quota import Quota

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

    def to_json(self) -> dict[str, Any]:
        # Field by field: dataclasses.asdict deep-copies every value (a tenth of a small
        # request's CPU went there).
        return {
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
        }


@dataclass(frozen=True, slots=True)
class ListQuery:
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    q: str | None = None
    sort: SortKey = SortKey.created_at_desc


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

    async def ping(self) -> None:
        """Raise ``CatalogUnavailable`` unless the database answers."""

    def iter_all(self) -> AsyncIterator[FileRecord]:
        """Every record, for fsck."""

    async def close(self) -> None:
        """Release connections."""
