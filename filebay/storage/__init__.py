"""Blob stores: the interface and its backends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from filebay.config import Settings
from filebay.storage.base import (
    BlobStat,
    BlobStore,
    BlobWriter,
    Presigning,
    StagedWriter,
    Staging,
    Sweepable,
)
from filebay.storage.local import LocalBlobStore

__all__ = [
    "BlobStat",
    "BlobStore",
    "BlobWriter",
    "Presigning",
    "StagedWriter",
    "Staging",
    "Sweepable",
    "open_blob_store",
]


async def _nothing() -> None:
    return None


async def open_blob_store(settings: Settings) -> tuple[BlobStore, Callable[[], Awaitable[None]]]:
    """The backend named by ``FILEBAY_STORAGE``, started, and how to close it."""
    if settings.storage == "local":
        return LocalBlobStore(settings.data_dir.resolve()), _nothing
    if settings.storage == "s3":
        from filebay.storage.s3.store import S3BlobStore

        if not settings.s3_bucket:
            raise ValueError("FILEBAY_STORAGE=s3 needs FILEBAY_S3_BUCKET")
        store = S3BlobStore(
            settings.s3_bucket,
            endpoint=settings.s3_endpoint,
            region=settings.s3_region,
            prefix=settings.s3_prefix,
            part_size=settings.s3_part_size,
            public_endpoint=settings.s3_public_endpoint,
        )
        await store.start()
        if settings.s3_create_bucket:
            await store.ensure_bucket()
        return store, store.close
    raise ValueError(f"unknown FILEBAY_STORAGE {settings.storage!r} (expected: local or s3)")
