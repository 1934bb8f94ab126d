"""The one quota rule, for every way a file arrives (multipart, raw PUT, tus, and the paths
later features add), checked inside the transaction that writes the record or the upload."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from filebay.catalog.quota import Quota
from filebay.catalog.sql.models import FileRow, UploadRow, UserRow
from filebay.errors import QuotaExceeded


@dataclass(frozen=True, slots=True)
class Holdings:
    """What an owner holds: stored files, plus unfinished uploads at their whole length."""

    stored_bytes: int
    stored_files: int
    reserved_bytes: int
    reserved_files: int

    @property
    def bytes(self) -> int:
        return self.stored_bytes + self.reserved_bytes

    @property
    def files(self) -> int:
        return self.stored_files + self.reserved_files


def holdings(db: Session, owner: str, except_uploads: Collection[str] = ()) -> Holdings:
    """``except_uploads``: uploads being turned into files right now (a finishing tus upload
    has the file's id), whose reservation must not count twice."""
    stored = db.execute(
        select(func.coalesce(func.sum(FileRow.size), 0), func.count()).where(FileRow.owner == owner)
    ).one()
    live = [UploadRow.owner == owner, UploadRow.expires_at >= datetime.now(UTC)]
    if except_uploads:
        live.append(UploadRow.id.not_in(list(except_uploads)))
    reserved = db.execute(
        select(func.coalesce(func.sum(UploadRow.length), 0), func.count()).where(*live)
    ).one()
    return Holdings(int(stored[0]), int(stored[1]), int(reserved[0]), int(reserved[1]))


def enforce_quota(
    db: Session,
    owner: str,
    quota: Quota | None,
    add_bytes: int,
    add_files: int,
    except_uploads: Collection[str] = (),
) -> None:
    """``QuotaExceeded`` unless ``add_files`` more files of ``add_bytes`` fit. An owner at or
    over their byte quota stores nothing new, not even an empty file (each one costs an
    inode, a row and an fsync). The owner's row is locked on PostgreSQL, so two writers
    cannot both squeeze into the last bytes; SQLite write units hold the write lock already."""
    if quota is None or quota.unlimited:
        return
    db.execute(select(UserRow.username).where(UserRow.username == owner).with_for_update())
    held = holdings(db, owner, except_uploads)
    if quota.max_bytes is not None and (
        held.bytes >= quota.max_bytes or held.bytes + add_bytes > quota.max_bytes
    ):
        raise QuotaExceeded()
    if quota.max_files is not None and held.files + add_files > quota.max_files:
        raise QuotaExceeded("this would exceed your quota of files")
