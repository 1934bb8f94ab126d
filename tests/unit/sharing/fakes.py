"""In-memory stand-ins for the contracts ``filebay.sharing`` calls: a share table, a catalog
of one or more files, a login limiter."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from filebay.catalog.files import FileRecord
from filebay.catalog.shares import Share
from filebay.errors import NotFound

NOW = datetime(2030, 1, 1, tzinfo=UTC)
DATA_SHA = "ab" * 32


def record(
    file_id: str = "f" * 32, *, content_type: str = "application/octet-stream"
) -> FileRecord:
    return FileRecord(
        id=file_id,
        owner="alice",
        name="report.bin",
        size=1000,
        content_type=content_type,
        sha256=DATA_SHA,
        blob_key=file_id,
        created_at=NOW - timedelta(days=1),
        updated_at=NOW - timedelta(days=1),
    )


def share(
    share_id: str = "5" * 32,
    *,
    file_id: str = "f" * 32,
    password_hash: str | None = None,
    max_downloads: int | None = None,
    downloads: int = 0,
    expires_at: datetime | None = None,
) -> Share:
    return Share(
        id=share_id,
        file_id=file_id,
        owner="alice",
        created_at=NOW - timedelta(hours=1),
        expires_at=expires_at,
        password_hash=password_hash,
        max_downloads=max_downloads,
        downloads=downloads,
    )


class FakeShares:
    """``Shares`` over a dict keyed by token hash (what ``SqlShares`` does, minus SQL)."""

    def __init__(self) -> None:
        self.by_hash: dict[str, Share] = {}
        self.lookups: list[str] = []

    def put(self, token_hash: str, item: Share) -> None:
        self.by_hash[token_hash] = item

    async def find_share(self, token_hash: str) -> Share | None:
        self.lookups.append(token_hash)
        return self.by_hash.get(token_hash)

    async def count_download(self, share_id: str, now: datetime) -> bool:
        for key, item in self.by_hash.items():
            if item.id == share_id:
                if not item.usable(now):
                    return False
                self.by_hash[key] = dataclasses.replace(item, downloads=item.downloads + 1)
                return True
        return False

    async def create_share(self, item: Share, token_hash: str) -> None:
        self.by_hash[token_hash] = item

    async def list_shares(self, file_id: str, owner: str | None) -> list[Share]:
        return [s for s in self.by_hash.values() if s.file_id == file_id]

    async def delete_share(self, token_hash: str, share_id: str, owner: str | None) -> None:
        for key, item in list(self.by_hash.items()):
            if (key == token_hash or item.id == share_id) and owner in (None, item.owner):
                del self.by_hash[key]
                return
        raise NotFound("no such share")

    async def delete_expired(self, before: datetime) -> int:
        return 0

    def current(self, share_id: str) -> Share:
        (item,) = [s for s in self.by_hash.values() if s.id == share_id]
        return item


class FakeCatalog:
    def __init__(self, *records: FileRecord) -> None:
        self.records = {r.id: r for r in records}

    async def get(self, file_id: str, owner: str | None) -> FileRecord:
        try:
            return self.records[file_id]
        except KeyError:
            raise NotFound("no such file") from None


class FakeLimiter:
    """Counters with limits, as ``LoginLimiter`` promises: reserve counts first."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.calls: list[str] = []

    async def reserve_login_attempt(self, keys: list[str], limits: list[int], window: int) -> int:
        self.calls.append("reserve")
        if any(self.counts.get(k, 0) >= limit for k, limit in zip(keys, limits, strict=True)):
            return window
        for key in keys:
            self.counts[key] = self.counts.get(key, 0) + 1
        return 0

    async def release_login_attempt(self, uncount: list[str], reset: list[str]) -> None:
        self.calls.append("release")
        for key in uncount:
            self.counts[key] = max(0, self.counts.get(key, 0) - 1)
        for key in reset:
            self.counts.pop(key, None)
