"""Upload sessions on SQL, sharing the catalog's engine (and its ``SessionRunner``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from filebay.catalog.quota import Quota
from filebay.catalog.sql.engine import SessionRunner, rowcount
from filebay.catalog.sql.files import unavailable_on_db_errors
from filebay.catalog.sql.models import UploadRow
from filebay.catalog.sql.quota import enforce_quota
from filebay.catalog.uploads import UploadSession
from filebay.errors import NotFound, UploadLocked
from filebay.ids import is_valid_id


def _session(row: UploadRow) -> UploadSession:
    return UploadSession(
        id=row.id,
        owner=row.owner,
        length=row.length,
        offset=row.offset,
        name=row.name,
        content_type=row.content_type,
        metadata_header=row.metadata_header,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


class SqlUploads:
    def __init__(self, engine: AsyncEngine) -> None:
        self._run = SessionRunner.for_engine(engine)

    @unavailable_on_db_errors
    async def create_upload(self, session: UploadSession, quota: Quota | None = None) -> None:
        row = UploadRow(
            id=session.id,
            owner=session.owner,
            length=session.length,
            offset=session.offset,
            name=session.name,
            content_type=session.content_type,
            metadata_header=session.metadata_header,
            created_at=session.created_at,
            expires_at=session.expires_at,
            lock_token=None,
            locked_until=None,
        )

        def work(db: Session) -> None:
            # The whole length is held from now on, like a stored file of that size.
            enforce_quota(db, session.owner, quota, session.length, 1)
            db.add(row)

        await self._run.write(work)

    @unavailable_on_db_errors
    async def get_upload(self, upload_id: str, owner: str | None) -> UploadSession:
        if not is_valid_id(upload_id):
            raise NotFound()
        stmt = select(UploadRow).where(UploadRow.id == upload_id)
        if owner is not None:
            stmt = stmt.where(UploadRow.owner == owner)
        row = await self._run.read(lambda db: db.scalar(stmt))
        if row is None:
            raise NotFound()
        return _session(row)

    @unavailable_on_db_errors
    async def lock_upload(
        self, upload_id: str, owner: str, token: str, lease_seconds: int
    ) -> UploadSession:
        if not is_valid_id(upload_id):
            raise NotFound()
        now = datetime.now(UTC)

        def work(db: Session) -> UploadSession:
            # One conditional UPDATE is the lock: atomic on every database, across replicas.
            row = db.execute(
                update(UploadRow)
                .where(
                    UploadRow.id == upload_id,
                    UploadRow.owner == owner,
                    or_(UploadRow.locked_until.is_(None), UploadRow.locked_until < now),
                )
                .values(lock_token=token, locked_until=now + timedelta(seconds=lease_seconds))
                .returning(UploadRow)
            ).scalar_one_or_none()
            if row is not None:
                return _session(row)
            exists = db.scalar(
                select(UploadRow.id).where(UploadRow.id == upload_id, UploadRow.owner == owner)
            )
            if exists is None:
                raise NotFound()
            raise UploadLocked()

        return await self._run.write(work)

    @unavailable_on_db_errors
    async def renew_lock(self, upload_id: str, token: str, lease_seconds: int) -> None:
        values = {"locked_until": datetime.now(UTC) + timedelta(seconds=lease_seconds)}
        await self._update_locked(upload_id, token, values)

    @unavailable_on_db_errors
    async def advance_upload(
        self, upload_id: str, token: str, offset: int, expires_at: datetime, release: bool = False
    ) -> None:
        values: dict[str, object] = {"offset": offset, "expires_at": expires_at}
        if release:
            values.update(lock_token=None, locked_until=None)
        await self._update_locked(upload_id, token, values)

    async def _update_locked(self, upload_id: str, token: str, values: dict[str, object]) -> None:
        """Change the upload while we hold its lease; ``UploadLocked`` once it is lost."""

        def work(db: Session) -> None:
            stmt = (
                update(UploadRow)
                .where(UploadRow.id == upload_id, UploadRow.lock_token == token)
                .values(**values)
            )
            if rowcount(db, stmt) == 0:
                raise UploadLocked("the upload's lease was lost")

        await self._run.write(work)

    @unavailable_on_db_errors
    async def unlock_upload(self, upload_id: str, token: str) -> None:
        stmt = (
            update(UploadRow)
            .where(UploadRow.id == upload_id, UploadRow.lock_token == token)
            .values(lock_token=None, locked_until=None)
        )
        await self._run.write(lambda db: db.execute(stmt))

    @unavailable_on_db_errors
    async def delete_upload(self, upload_id: str, owner: str | None) -> None:
        conditions = [UploadRow.id == upload_id]
        if owner is not None:
            conditions.append(UploadRow.owner == owner)
        stmt = delete(UploadRow).where(and_(*conditions))
        await self._run.write(lambda db: db.execute(stmt))

    @unavailable_on_db_errors
    async def count_uploads(self) -> int:
        stmt = select(func.count()).select_from(UploadRow)
        return int(await self._run.read(lambda db: db.scalar(stmt)) or 0)

    @unavailable_on_db_errors
    async def expired_uploads(self, now: datetime, limit: int) -> list[UploadSession]:
        stmt = (
            select(UploadRow)
            .where(UploadRow.expires_at < now)
            .order_by(UploadRow.expires_at)
            .limit(limit)
        )
        rows = await self._run.read(lambda db: list(db.scalars(stmt).all()))
        return [_session(r) for r in rows]
