"""The trash contract (DESIGN §8.2): one item per delete (a file, or a folder with all it
holds). Trashed entries keep their records, hidden from listings, search, content and
shares, and still counted in the quota, until restored or purged (record first, then the
caller deletes the blobs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from filebay.catalog.folders import Entry


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class TrashItem:
    id: str
    owner: str
    #: "file" or "folder"
    kind: str
    #: The id of the file or folder (it keeps it when restored).
    entry_id: str
    name: str
    #: The folder it was in (``""``: the root) and the path it had.
    parent_id: str
    original_path: str
    #: Bytes of the file, or of every file below the folder.
    size: int
    deleted_at: datetime

    def to_json(self, keep: timedelta) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "entry_id": self.entry_id,
            "name": self.name,
            "original_path": self.original_path,
            "size": self.size,
            "deleted_at": _iso(self.deleted_at),
            "purge_at": _iso(self.deleted_at + keep),
        }


@dataclass(frozen=True, slots=True)
class TrashPage:
    items: list[TrashItem]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Purged:
    """What a purge took away: the caller deletes these blobs after the commit."""

    items: int = 0
    blob_keys: list[str] = field(default_factory=list)


class Trash(Protocol):
    """An owner's trash; another owner's item is ``NotFound``."""

    async def trash_file(self, file_id: str, owner: str) -> TrashItem:
        """Move a file to the trash (its name is free again in its folder)."""

    async def trash_folder(self, folder_id: str, owner: str) -> TrashItem:
        """Move a folder and everything below it to the trash, as one item."""

    async def list_trash(self, owner: str, limit: int, cursor: str | None) -> TrashPage:
        """Newest first."""

    async def restore(self, item_id: str, owner: str) -> Entry:
        """Back into its folder (recreated from the path it had if gone); a name taken
        meanwhile gets a number. The record, as it is now."""

    async def purge(self, item_id: str, owner: str | None) -> Purged:
        """Delete one item's records for good (``owner=None``: the sweeper). An item restored
        or purged meanwhile is ``NotFound``: each item is purged once, whoever asks."""

    async def empty(self, owner: str) -> Purged: ...

    async def expired(self, before: datetime, limit: int) -> list[str]:
        """Ids of items deleted before ``before``, oldest first."""

    async def trash_bytes(self, owner: str) -> int: ...
