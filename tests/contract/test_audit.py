"""The audit log contract (filebay.catalog.audit) on SQL, SQLite and PostgreSQL: newest
first, filters, keyset pages that neither skip nor repeat (events of one instant too), and
retention as its only delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from filebay.audit.recorder import apply_retention
from filebay.catalog.audit import AuditEvent, AuditQuery, decode_audit_cursor
from filebay.catalog.sql.audit import SqlAuditLog
from filebay.errors import InvalidCursor
from filebay.ids import new_id
from tests.contract.helpers import Subjects, SubjectsRunner

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _event(at: datetime, type: str = "login.ok", actor: str | None = "alice") -> AuditEvent:
    return AuditEvent(new_id(), at, type, actor, "10.0.0.1", "curl/8", "target", None)


def test_pages_newest_first_without_gaps(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        log = SqlAuditLog(s.sql.engine)
        recorded = [_event(T0 + timedelta(seconds=i // 3)) for i in range(25)]  # 3 per instant
        for event in recorded:
            await log.record(event)
        seen: list[str] = []
        cursor = None
        while True:
            after = decode_audit_cursor(cursor) if cursor else None
            page = await log.events(AuditQuery(after=after, limit=4))
            seen += [e.id for e in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        newest_first = sorted(recorded, key=lambda e: (e.at, e.id), reverse=True)
        assert seen == [e.id for e in newest_first]
        got = (await log.events(AuditQuery(limit=1))).items[0]
        assert (got.address, got.user_agent, got.target) == ("10.0.0.1", "curl/8", "target")

    run_sql(scenario)


def test_filters(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        log = SqlAuditLog(s.sql.engine)
        await log.record(_event(T0, "login.ok", "alice"))
        await log.record(_event(T0 + timedelta(hours=1), "login.failed", "bob"))
        await log.record(_event(T0 + timedelta(hours=2), "logout", "alice"))
        alice = await log.events(AuditQuery(actor="alice"))
        assert [e.type for e in alice.items] == ["logout", "login.ok"]
        failed = await log.events(AuditQuery(type="login.failed"))
        assert [e.actor for e in failed.items] == ["bob"]
        recent = await log.events(AuditQuery(since=T0 + timedelta(minutes=30)))
        assert [e.type for e in recent.items] == ["logout", "login.failed"]

    run_sql(scenario)


def test_retention_is_the_only_delete(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        log = SqlAuditLog(s.sql.engine)
        now = datetime.now(UTC)
        await log.record(_event(now - timedelta(days=400), "old"))
        await log.record(_event(now - timedelta(days=10), "recent"))
        assert await apply_retention(log, 365) == 1
        assert [e.type for e in (await log.events(AuditQuery())).items] == ["recent"]

    run_sql(scenario)


def test_a_bad_cursor_is_refused() -> None:
    for token in ("", "not-base64!", "YWJj", "MjAyNi0wMS0wMVQwMDowMDowMHx4"):
        with pytest.raises(InvalidCursor):
            decode_audit_cursor(token)
