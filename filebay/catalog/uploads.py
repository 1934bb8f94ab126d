"""The contract for resumable upload sessions (tus): rows in the catalog, bytes in staging."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol

from filebay.catalog.quota import Quota


@dataclass(frozen=True, slots=True)
class UploadSession:
    id: str
    owner: str
    length: int
    offset: int
    name: str
    content_type: str
    metadata_header: str
    created_at: datetime
    expires_at: datetime

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["expires_at"] = self.expires_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UploadSession:
        return cls(
            **{
                **data,
                "created_at": datetime.fromisoformat(data["created_at"]),
                "expires_at": datetime.fromisoformat(data["expires_at"]),
            }
        )


class UploadSessions(Protocol):
    """Upload sessions, scoped to an owner like files (``owner=None``: any owner)."""

    async def create_upload(self, session: UploadSession, quota: Quota | None = None) -> None:
        """With ``quota``: ``QuotaExceeded`` when the owner's files, plus the whole lengths
        (and the count) of their live uploads, plus this one would pass it (checked in the
        write's own transaction, so concurrent creations cannot all squeeze in)."""

    async def get_upload(self, upload_id: str, owner: str | None) -> UploadSession:
        """``NotFound`` when unknown (or another owner's)."""

    async def lock_upload(
        self, upload_id: str, owner: str, token: str, lease_seconds: int
    ) -> UploadSession:
        """Take the upload's write lease; ``UploadLocked`` while another request holds it."""

    async def renew_lock(self, upload_id: str, token: str, lease_seconds: int) -> None:
        """Extend the lease; ``UploadLocked`` when it was lost (another request took over)."""

    async def advance_upload(
        self, upload_id: str, token: str, offset: int, expires_at: datetime, release: bool = False
    ) -> None:
        """Record durable progress (only while holding the lease); with ``release``, give
        the lease up in the same write (one commit instead of two per PATCH)."""

    async def unlock_upload(self, upload_id: str, token: str) -> None: ...

    async def delete_upload(self, upload_id: str, owner: str | None) -> None:
        """Remove the session; absent is fine."""

    async def expired_uploads(self, now: datetime, limit: int) -> list[UploadSession]: ...

    async def count_uploads(self) -> int:
        """Unfinished uploads (for the ``filebay_tus_sessions_open`` gauge)."""
