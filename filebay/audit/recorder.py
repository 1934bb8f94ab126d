"""Writing audit events, and their retention (``FILEBAY_AUDIT_DAYS``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from filebay.auth.accounts import ClientInfo
from filebay.catalog.audit import AuditEvent, AuditLog
from filebay.ids import new_id


async def record(
    log: AuditLog,
    type: str,
    *,
    actor: str | None,
    client: ClientInfo,
    target: str | None = None,
    reason: str | None = None,
) -> None:
    """One event, now. ``target`` names what was acted on (a user, a token's id and name,
    a passkey's name): never a secret."""
    event = AuditEvent(
        id=new_id(),
        at=datetime.now(UTC),
        type=type,
        actor=actor,
        address=client.address,
        user_agent=client.user_agent,
        target=target,
        reason=reason,
    )
    await log.record(event)


async def apply_retention(log: AuditLog, days: int) -> int:
    """Delete the events older than ``days`` (the sweeper calls this); how many."""
    return await log.purge(datetime.now(UTC) - timedelta(days=days))
