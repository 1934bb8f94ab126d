"""Blob stores: the interface and its backends."""

from __future__ import annotations

from filebay.config import Settings
from filebay.storage.base import BlobStat, BlobStore, BlobWriter, LocalPaths, Sweepable
from filebay.storage.local import LocalBlobStore

__all__ = ["BlobStat", "BlobStore", "BlobWriter", "LocalPaths", "Sweepable", "make_blob_store"]


def make_blob_store(settings: Settings) -> BlobStore:
    """The backend named by ``FILEBAY_STORAGE``."""
    if settings.storage == "local":
        return LocalBlobStore(settings.data_dir.resolve())
    raise ValueError(f"unknown FILEBAY_STORAGE {settings.storage!r} (expected: local)")
