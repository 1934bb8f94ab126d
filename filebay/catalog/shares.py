"""The share-link contract."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Share:
    id: str
    file_id: str
    owner: str
    created_at: datetime
    expires_at: datetime | None
    password_hash: str | None
    max_downloads: int | None
    downloads: int
    #: "file", or "folder": ``file_id`` is then the shared folder's id.
    kind: str = "file"

    def usable(self, now: datetime) -> bool:
        """Not expired and not used up."""
        if self.expires_at is not None and self.expires_at <= now:
            return False
        return self.max_downloads is None or self.downloads < self.max_downloads

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["expires_at"] = self.expires_at.isoformat() if self.expires_at else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Share:
        return cls(
            **{
                **data,
                "created_at": datetime.fromisoformat(data["created_at"]),
                "expires_at": (
                    datetime.fromisoformat(data["expires_at"]) if data["expires_at"] else None
                ),
            }
        )


class ShareLookup(Protocol):
    """What the download side needs: find a link and count a download."""

    async def find_share(self, token_hash: str) -> Share | None:
        """The share with this token, whatever its state (the caller checks ``usable``)."""

    async def count_download(self, share_id: str, now: datetime) -> bool:
        """Atomically count one download; ``False`` when expired or used up."""


class Shares(ShareLookup, Protocol):
    """The owner's side: create, list, revoke."""

    async def create_share(self, share: Share, token_hash: str) -> None: ...

    async def list_shares(self, file_id: str, owner: str | None) -> list[Share]: ...

    async def delete_share(self, token_hash: str, share_id: str, owner: str | None) -> None:
        """Revoke by token hash or id; ``NotFound`` unless it exists and is the owner's."""

    async def delete_expired(self, before: datetime) -> int:
        """Remove links that expired before ``before``; how many."""
