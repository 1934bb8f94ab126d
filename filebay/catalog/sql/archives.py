"""Zip selections and links on SQL: a selected folder's subtree in two set queries."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from filebay.catalog.archives import ArchiveFile, ArchiveFolder, Selection, ZipLink
from filebay.catalog.files import ROOT
from filebay.catalog.sql import tree
from filebay.catalog.sql.models import FileRow, FolderRow, ZipLinkRow
from filebay.errors import NotFound


def select_entries(
    session: Session, owner: str, file_ids: list[str], folder_ids: list[str]
) -> Selection:
    from filebay.catalog.sql.files import _to_record  # one module imports the other

    folders: list[ArchiveFolder] = []
    files: list[ArchiveFile] = []
    for folder_id in dict.fromkeys(folder_ids):
        _add_subtree(session, owner, folder_id, folders, files, _to_record)
    wanted = list(dict.fromkeys(file_ids))
    if wanted:
        rows = session.scalars(
            select(FileRow).where(
                FileRow.id.in_(wanted), FileRow.owner == owner, FileRow.trash_id.is_(None)
            )
        ).all()
        if len(rows) != len(wanted):
            raise NotFound("file not found")
        files.extend(ArchiveFile(r.name, _to_record(r)) for r in rows)
    return Selection(folders, files)


def _add_subtree(session, owner, folder_id, folders, files, to_record) -> None:  # type: ignore[no-untyped-def]
    """The folder (named, unless the root), the folders and the files below it."""
    if folder_id == ROOT:
        below_files = select(FileRow).where(FileRow.owner == owner, FileRow.trash_id.is_(None))
        folder_rows = session.scalars(
            select(FolderRow).where(FolderRow.owner == owner, FolderRow.trash_id.is_(None))
        ).all()
        paths: dict[str, str] = {ROOT: ""}
    else:
        top = tree.folder_row(session, folder_id, owner)
        below = tree.subtree(folder_id)
        below_files = select(FileRow).where(FileRow.owner == owner, FileRow.folder_id.in_(below))
        folder_rows = session.scalars(select(FolderRow).where(FolderRow.id.in_(below))).all()
        paths = {top.parent_id: ""}
    by_id = {r.id: r for r in folder_rows}

    def path_of(fid: str) -> str:
        # Parents before children without recursion: walk up to a known path, fill down.
        chain = []
        while fid not in paths:
            chain.append(fid)
            fid = by_id[fid].parent_id
        for step in reversed(chain):
            row = by_id[step]
            paths[step] = f"{paths[row.parent_id]}/{row.name}".lstrip("/")
        return paths[chain[0]] if chain else paths[fid]

    for row in folder_rows:
        if row.parent_id not in by_id and row.parent_id != ROOT and row.id != folder_id:
            continue  # a trashed folder's top, out of the tree (root selection only)
        folders.append(ArchiveFolder(path_of(row.id), row.updated_at))
    for row in session.scalars(below_files).all():
        if row.folder_id != ROOT and row.folder_id not in by_id:
            continue
        prefix = paths.get(row.folder_id) if row.folder_id in paths else path_of(row.folder_id)
        files.append(ArchiveFile(f"{prefix}/{row.name}".lstrip("/"), to_record(row)))


def set_crc32(session: Session, file_id: str, crc32: int) -> None:
    session.execute(
        update(FileRow).where(FileRow.id == file_id, FileRow.crc32.is_(None)).values(crc32=crc32)
    )


def create_link(session: Session, token_hash: str, link: ZipLink, now: datetime) -> None:
    # Expired links go as new ones come: the table never grows past a day of links.
    session.execute(delete(ZipLinkRow).where(ZipLinkRow.expires_at < now))
    selection = json.dumps({"file_ids": link.file_ids, "folder_ids": link.folder_ids})
    session.add(
        ZipLinkRow(
            token_hash=token_hash,
            owner=link.owner,
            selection=selection,
            created_at=now,
            expires_at=link.expires_at,
        )
    )


def find_link(session: Session, token_hash: str, now: datetime) -> ZipLink | None:
    row = session.get(ZipLinkRow, token_hash)
    if row is None or row.expires_at <= now:
        return None
    data = json.loads(row.selection)
    return ZipLink(row.owner, data["file_ids"], data["folder_ids"], row.expires_at)
