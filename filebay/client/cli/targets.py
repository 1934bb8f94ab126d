"""What a command's argument names: a 32-hex id stays an id; anything else is a path in the
user's tree (``/photos/a.jpg``, ``photos/a.jpg``, ``/old/``), resolved by the server.

A trailing ``/`` says "a folder": ``filebay rm /old/`` never deletes a file called ``old``."""

from __future__ import annotations

from typing import Any, cast

from filebay.client.api import ROOT, Client
from filebay.client.errors import ApiError, ClientError, UsageError
from filebay.client.records import Entry, FolderRecord, is_folder
from filebay.ids import is_valid_id


def normalize(path: str) -> str:
    """``a//b/`` → ``/a/b``: absolute, single slashes, no trailing one (``/`` stays)."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UsageError(f"{path!r}: '..' is not a folder name")
    return "/" + "/".join(parts)


def split(path: str) -> tuple[str, str]:
    """``/a/b/c`` → (``/a/b``, ``c``)."""
    parent, _, name = normalize(path).rpartition("/")
    return parent or "/", name


def root() -> FolderRecord:
    """The root has no record (DESIGN §8.1); this stands for it."""
    return cast(
        FolderRecord,
        {"kind": "folder", "id": ROOT, "name": "", "parent_id": None, "path": "/"},
    )


def lookup(client: Client, arg: str) -> Entry:
    """The file or folder ``arg`` names; ``ApiError`` 404 when there is none."""
    if is_valid_id(arg):
        return _by_id(client, arg)
    path = normalize(arg)
    if path == "/":
        return root()
    entry = client.resolve(path)
    if arg.endswith("/") and not is_folder(entry):
        raise ClientError(f"{arg}: not a folder")
    return entry


def _by_id(client: Client, entry_id: str) -> Entry:
    try:
        return client.file(entry_id)
    except ApiError as exc:
        if exc.status != 404:
            raise
        try:
            return client.folder(entry_id)
        except ApiError:
            raise exc from None


def folder(client: Client, arg: str) -> FolderRecord:
    """The folder ``arg`` names (a file there is an error)."""
    entry = lookup(client, arg)
    if not is_folder(entry):
        raise ClientError(f"{arg}: is a file, not a folder")
    return cast(FolderRecord, entry)


def make_folders(
    client: Client, path: str, known: dict[str, FolderRecord] | None = None
) -> FolderRecord:
    """The folder at ``path``, creating it and any missing parent (like ``mkdir -p``).
    ``known`` (path → folder) saves asking again for folders made or found before."""
    known = {} if known is None else known
    current, where = root(), ""
    for name in [p for p in normalize(path).split("/") if p]:
        where = f"{where}/{name}"
        if where not in known:
            known[where] = _child_folder(client, current, name)
        current = known[where]
    return current


def _child_folder(client: Client, parent: FolderRecord, name: str) -> FolderRecord:
    parent_id = None if parent["id"] == ROOT else parent["id"]
    try:
        return client.create_folder(name, parent_id)
    except ApiError as exc:
        if exc.code != "name_taken":
            raise
    # Taken: by a folder (use it) or by a file (a path cannot go through a file).
    existing: Any = client.resolve(f"{parent['path'].rstrip('/')}/{name}")
    if not is_folder(existing):
        raise ClientError(f"{existing.get('path', name)}: a file is in the way of a folder")
    return cast(FolderRecord, existing)
