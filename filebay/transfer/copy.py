"""Server-side copy: a file's bytes into a new blob, and a new record. No byte goes
through the client, and the copy is a file of its own (deleting one leaves the other)."""

from __future__ import annotations

import asyncio

from filebay.catalog.files import Catalog, FileRecord, NewFile, OnConflict
from filebay.catalog.quota import Quota
from filebay.errors import CatalogOutcomeUnknown
from filebay.storage.base import BlobStore
from filebay.transfer.ingest import BlobIngest
from filebay.transfer.removal import remove_blobs


async def copy_file(
    store: BlobStore,
    catalog: Catalog,
    source: FileRecord,
    *,
    owner: str,
    folder_id: str,
    name: str,
    on_conflict: OnConflict,
    quota: Quota | None,
) -> FileRecord:
    """Copy ``source`` into ``folder_id`` as ``name`` for ``owner``, within the quota."""
    ingest = await BlobIngest.start(store, source.size)
    try:
        async for chunk in store.read(source.blob_key):
            await ingest.feed(chunk)
        blob = await ingest.finish()
    except BaseException:
        await ingest.abort()
        raise
    new = NewFile(
        id=blob.key,
        owner=owner,
        name=name,
        size=blob.size,
        content_type=source.content_type,
        sha256=blob.sha256,
        blob_key=blob.key,
        folder_id=folder_id,
        on_conflict=on_conflict,
        crc32=blob.crc32,
    )
    try:
        record = await catalog.add(new, quota)
    except (CatalogOutcomeUnknown, asyncio.CancelledError):
        raise  # the record may exist after all: a blob without one is the safe side
    except BaseException:
        await store.delete(blob.key)
        raise
    if record.replaced_blob_key:
        await remove_blobs(store, [record.replaced_blob_key])
    return record
