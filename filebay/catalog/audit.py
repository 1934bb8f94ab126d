"""The audit log contract: who did what, when, from where (DESIGN §8.4).

Append-only: events are recorded and read; only retention (``purge``) deletes. An event
never holds a secret (no password, token, code or key: ``target`` names things)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from filebay.errors import InvalidCursor
from filebay.ids import is_valid_id


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: str
    at: datetime
    type: str
    actor: str | None
    address: str | None
    user_agent: str | None
    target: str | None
    #: Why a login failed: for admins' eyes only.
    reason: str | None = None

    def to_json(self, *, with_reason: bool) -> dict[str, Any]:
        data = {
            "id": self.id,
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "type": self.type,
            "actor": self.actor,
            "address": self.address,
            "user_agent": self.user_agent,
            "target": self.target,
        }
        if with_reason:
            data["reason"] = self.reason
        return data


@dataclass(frozen=True, slots=True)
class AuditQuery:
    actor: str | None = None
    type: str | None = None
    since: datetime | None = None
    #: The last event of the previous page (newest first): (its time, its id).
    after: tuple[datetime, str] | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class AuditPage:
    items: list[AuditEvent]
    next_cursor: str | None


def encode_audit_cursor(event: AuditEvent) -> str:
    raw = f"{event.at.isoformat()}|{event.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_audit_cursor(token: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        moment, event_id = raw.split("|")
        at = datetime.fromisoformat(moment)
        if at.tzinfo is None or not is_valid_id(event_id):
            raise ValueError("not a cursor")
        return at.astimezone(UTC), event_id
    except (ValueError, UnicodeDecodeError, OverflowError) as exc:
        raise InvalidCursor() from exc


class AuditLog(Protocol):
    async def record(self, event: AuditEvent) -> None: ...

    async def events(self, query: AuditQuery) -> AuditPage:
        """Newest first, by (time, id), after ``query.after``."""

    async def purge(self, before: datetime) -> int:
        """Retention: delete the events older than ``before``; how many."""
