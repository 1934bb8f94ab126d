"""The audit log on SQL (the catalog's engine). No UPDATE anywhere; DELETE only in purge."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from filebay.catalog.audit import AuditEvent, AuditPage, AuditQuery, encode_audit_cursor
from filebay.catalog.sql.engine import SessionRunner, rowcount
from filebay.catalog.sql.files import unavailable_on_db_errors
from filebay.catalog.sql.models import AuditEventRow


def _event(row: AuditEventRow) -> AuditEvent:
    return AuditEvent(
        id=row.id,
        at=row.at,
        type=row.type,
        actor=row.actor,
        address=row.address,
        user_agent=row.user_agent,
        target=row.target,
        reason=row.reason,
    )


def _clip(value: str | None, size: int) -> str | None:
    return value[:size] if value else value


class SqlAuditLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._run = SessionRunner.for_engine(engine)

    @unavailable_on_db_errors
    async def record(self, event: AuditEvent) -> None:
        row = AuditEventRow(
            id=event.id,
            at=event.at,
            type=event.type[:64],
            actor=_clip(event.actor, 64),
            address=_clip(event.address, 64),
            user_agent=_clip(event.user_agent, 512),
            target=_clip(event.target, 255),
            reason=_clip(event.reason, 64),
        )
        await self._run.write(lambda db: db.add(row))

    @unavailable_on_db_errors
    async def events(self, query: AuditQuery) -> AuditPage:
        stmt = select(AuditEventRow)
        if query.actor is not None:
            stmt = stmt.where(AuditEventRow.actor == query.actor)
        if query.type is not None:
            stmt = stmt.where(AuditEventRow.type == query.type)
        if query.since is not None:
            stmt = stmt.where(AuditEventRow.at >= query.since)
        if query.after is not None:
            at, last_id = query.after
            stmt = stmt.where(
                or_(AuditEventRow.at < at, and_(AuditEventRow.at == at, AuditEventRow.id < last_id))
            )
        stmt = stmt.order_by(AuditEventRow.at.desc(), AuditEventRow.id.desc()).limit(
            query.limit + 1
        )

        def work(db: Session) -> list[AuditEvent]:
            return [_event(r) for r in db.scalars(stmt)]

        found = await self._run.read(work)
        items = found[: query.limit]
        more = len(found) > query.limit
        return AuditPage(items, encode_audit_cursor(items[-1]) if more and items else None)

    @unavailable_on_db_errors
    async def purge(self, before: datetime) -> int:
        stmt = delete(AuditEventRow).where(AuditEventRow.at < before)
        return await self._run.write(lambda db: rowcount(db, stmt))
