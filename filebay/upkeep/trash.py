"""Purging the trash: items older than FILEBAY_TRASH_DAYS go, record first, then blobs.

Each item is taken by one transaction (``Trash.purge``): when two sweepers (replicas)
pick the same item, one gets its blobs to delete and the other ``NotFound``, so no blob is
deleted twice and none is left behind."""

from __future__ import annotations

from datetime import datetime, timedelta

from filebay.catalog.trash import Trash
from filebay.errors import NotFound
from filebay.storage.base import BlobStore
from filebay.transfer.removal import remove_blobs

#: Items purged in one pass at most (the next pass goes on).
PURGE_BATCH = 500


async def purge_expired(trash: Trash, store: BlobStore, days: int, now: datetime) -> int:
    """Purge what was deleted ``days`` ago or earlier; how many items."""
    purged = 0
    for item_id in await trash.expired(now - timedelta(days=days), PURGE_BATCH):
        try:
            done = await trash.purge(item_id, None)
        except NotFound:  # restored, or purged by another sweeper meanwhile
            continue
        await remove_blobs(store, done.blob_keys)
        purged += 1
    return purged
