"""The shapes of what the API answers (DESIGN §4 and §8.1), typed for the SDK's callers.

They are the JSON objects themselves (``TypedDict``), so a record prints, compares and
serialises as the server sent it; keys a server version may lack are optional."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class FileRecord(TypedDict):
    id: str
    name: str
    size: int
    content_type: str
    sha256: str
    created_at: str
    updated_at: str
    owner: str
    download_url: str
    kind: NotRequired[Literal["file"]]
    folder_id: NotRequired[str | None]
    path: NotRequired[str]


class Crumb(TypedDict):
    id: str
    name: str


class FolderRecord(TypedDict):
    kind: Literal["folder"]
    id: str
    name: str
    parent_id: str | None
    path: str
    owner: str
    created_at: str
    updated_at: str
    breadcrumbs: NotRequired[list[Crumb]]
    files: NotRequired[int]
    bytes: NotRequired[int]


#: What ``resolve`` and a folder's items hold: either kind (look at ``record["kind"]``).
Entry = FileRecord | FolderRecord


class Page(TypedDict):
    items: list[Any]
    next_cursor: str | None


class ApiToken(TypedDict):
    id: str
    token: str
    name: str


class Share(TypedDict):
    token: str
    url: str
    expires_at: str | None
    max_downloads: int | None


def is_folder(record: Entry | dict[str, Any]) -> bool:
    return record.get("kind") == "folder"
