"""Share links on SQL, sharing the catalog's engine (and its ``SessionRunner``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from filebay.catalog.shares import Share
from filebay.catalog.sql.engine import SessionRunner, rowcount
from filebay.catalog.sql.files import unavailable_on_db_errors
from filebay.catalog.sql.models import ShareRow, UserRow
from filebay.errors import NotFound


def _share(row: ShareRow) -> Share:
    return Share(
        id=row.id,
        file_id=row.file_id,
        owner=row.owner,
        created_at=row.created_at,
        expires_at=row.expires_at,
        password_hash=row.password_hash,
        max_downloads=row.max_downloads,
        downloads=row.downloads,
        kind=row.kind,
    )


class SqlShares:
    def __init__(self, engine: AsyncEngine) -> None:
        self._run = SessionRunner.for_engine(engine)

    @unavailable_on_db_errors
    async def create_share(self, share: Share, token_hash: str) -> None:
        row = ShareRow(
            id=share.id,
            token_hash=token_hash,
            file_id=share.file_id,
            owner=share.owner,
            created_at=share.created_at,
            expires_at=share.expires_at,
            password_hash=share.password_hash,
            max_downloads=share.max_downloads,
            downloads=share.downloads,
            kind=share.kind,
        )
        await self._run.write(lambda db: db.add(row))

    @unavailable_on_db_errors
    async def list_shares(self, file_id: str, owner: str | None) -> list[Share]:
        stmt = select(ShareRow).where(ShareRow.file_id == file_id).order_by(ShareRow.created_at)
        if owner is not None:
            stmt = stmt.where(ShareRow.owner == owner)
        return await self._run.read(lambda db: [_share(r) for r in db.scalars(stmt).all()])

    @unavailable_on_db_errors
    async def delete_share(self, token_hash: str, share_id: str, owner: str | None) -> None:
        stmt = delete(ShareRow).where(
            or_(ShareRow.token_hash == token_hash, ShareRow.id == share_id)
        )
        if owner is not None:
            stmt = stmt.where(ShareRow.owner == owner)
        if await self._run.write(lambda db: rowcount(db, stmt)) == 0:
            raise NotFound("no such share")

    @unavailable_on_db_errors
    async def find_share(self, token_hash: str) -> Share | None:
        # A disabled owner's links answer as if they did not exist, until re-enabled: an
        # admin shutting an intruder out must not leave the intruder's links serving.
        stmt = (
            select(ShareRow)
            .join(UserRow, UserRow.username == ShareRow.owner)
            .where(ShareRow.token_hash == token_hash, UserRow.disabled.is_(False))
        )
        row = await self._run.read(lambda db: db.scalar(stmt))
        return None if row is None else _share(row)

    @unavailable_on_db_errors
    async def delete_expired(self, before: datetime) -> int:
        stmt = delete(ShareRow).where(
            ShareRow.expires_at.is_not(None), ShareRow.expires_at < before
        )
        return await self._run.write(lambda db: rowcount(db, stmt))

    @unavailable_on_db_errors
    async def count_download(self, share_id: str, now: datetime) -> bool:
        # One conditional UPDATE: concurrent downloads cannot pass the limit.
        stmt = (
            update(ShareRow)
            .where(
                ShareRow.id == share_id,
                or_(ShareRow.expires_at.is_(None), ShareRow.expires_at > now),
                or_(
                    ShareRow.max_downloads.is_(None),
                    ShareRow.downloads < ShareRow.max_downloads,
                ),
            )
            .values(downloads=ShareRow.downloads + 1)
        )
        return bool(await self._run.write(lambda db: rowcount(db, stmt)))
