"""``filebay audit export``: the audit log as JSON Lines, newest first, a page at a time
(for a SIEM, or an archive before retention deletes it)."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from filebay.config import Settings

audit_app = typer.Typer(help="The audit log (export).")


def _since(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter("an ISO 8601 date or time, e.g. 2026-12-01") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@audit_app.command("export")
def export(
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only events at or after this time (ISO 8601, UTC)."),
    ] = None,
) -> None:
    """Print every event (with failed logins' reasons) as one JSON object per line."""
    from filebay.catalog.audit import AuditQuery, decode_audit_cursor
    from filebay.catalog.sql.audit import SqlAuditLog
    from filebay.catalog.sql.files import SqlCatalog

    settings = Settings()
    start = _since(since) if since else None

    async def run() -> None:
        catalog = await SqlCatalog.open(settings.effective_database_url)
        try:
            log = SqlAuditLog(catalog.engine)
            cursor = None
            while True:  # keyset pages: memory stays flat however long the log
                after = decode_audit_cursor(cursor) if cursor else None
                page = await log.events(AuditQuery(since=start, after=after, limit=1000))
                for event in page.items:
                    sys.stdout.write(json.dumps(event.to_json(with_reason=True)) + "\n")
                cursor = page.next_cursor
                if cursor is None:
                    break
        finally:
            await catalog.close()

    asyncio.run(run())
