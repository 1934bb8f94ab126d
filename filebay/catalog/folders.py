"""The folders contract: an owner's tree of folders, and the entries (folders, then files)
of one folder. Names are unique per folder after NFC + case folding (``names.name_key``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from filebay.catalog.files import ROOT, FileRecord, OnConflict, SortKey
from filebay.errors import NotFound
from filebay.ids import is_valid_id

#: ``root`` works wherever a folder id does.
ROOT_WORD = "root"
#: Deepest a tree may go (a path is built from every level above an entry).
MAX_DEPTH = 64


def folder_id_of(value: str) -> str:
    """``root`` → ``ROOT``; any other word must be a folder id (else ``NotFound``)."""
    if value in (ROOT_WORD, ROOT):
        return ROOT
    if not is_valid_id(value):
        raise NotFound("folder not found")
    return value


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Crumb:
    id: str
    name: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True, slots=True)
class FolderRecord:
    id: str
    owner: str
    name: str
    parent_id: str
    path: str
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "folder",
            "id": self.id,
            "name": self.name,
            "parent_id": self.parent_id or None,
            "path": self.path,
            "owner": self.owner,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


@dataclass(frozen=True, slots=True)
class FolderInfo:
    """``GET /api/folders/{id}``: the folder, the way down to it, and what it holds."""

    folder: FolderRecord
    #: Root first, ending with the folder itself.
    breadcrumbs: list[Crumb]
    files: int
    bytes: int

    def to_json(self) -> dict[str, Any]:
        return {
            **self.folder.to_json(),
            "breadcrumbs": [c.to_json() for c in self.breadcrumbs],
            "files": self.files,
            "bytes": self.bytes,
        }


Entry = FolderRecord | FileRecord


@dataclass(frozen=True, slots=True)
class ItemsPage:
    items: list[Entry]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Removed:
    """What deleting a subtree took away: the caller deletes these blobs after the commit."""

    folders: int
    blob_keys: list[str] = field(default_factory=list)


class Folders(Protocol):
    """Folder records of one owner; another owner's folder is ``NotFound``. Folder ids are
    32-hex ids, ``ROOT`` ("") is the top of the tree (no record)."""

    async def create(self, owner: str, parent_id: str, name: str) -> FolderRecord:
        """A new folder (``NameTaken`` when the name is taken, ``NotFound`` parent)."""

    async def get(self, folder_id: str, owner: str) -> FolderRecord: ...

    async def info(self, folder_id: str, owner: str) -> FolderInfo:
        """Breadcrumbs, and the files and bytes below it, at any depth (``ROOT`` too)."""

    async def items(
        self, folder_id: str, owner: str, sort: SortKey, limit: int, cursor: str | None
    ) -> ItemsPage:
        """Folders first, then files; keyset pages."""

    async def update(
        self, folder_id: str, owner: str, *, name: str | None, parent_id: str | None
    ) -> FolderRecord:
        """Rename and/or move (``FolderCycle`` into itself or below, ``NameTaken``)."""

    async def delete(self, folder_id: str, owner: str) -> Removed:
        """Remove the folder, every folder and file below it and their share links."""

    async def move_file(
        self, file_id: str, owner: str, folder_id: str, on_conflict: OnConflict
    ) -> FileRecord:
        """Put a file into another folder (its name may change with ``rename``)."""

    async def resolve(self, owner: str, path: str) -> Entry:
        """The folder or file at ``/a/b/c``; ``NotFound``."""

    async def paths(self, owner: str, folder_ids: set[str]) -> dict[str, str]:
        """Each folder's path (``ROOT`` → "")."""
