"""Removing a file's bytes once its record is gone: the blob and everything kept beside it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from filebay.errors import BlobNotFound
from filebay.previews.thumbnails import remove_thumbnails
from filebay.storage.base import BlobStore


async def remove_blobs(store: BlobStore, blob_keys: Iterable[str]) -> None:
    """Record first, then blob: call this after the commit. A crash in between leaves an
    orphan blob for fsck, never a record pointing at nothing."""
    for key in blob_keys:
        with contextlib.suppress(BlobNotFound):
            await store.delete(key)
        await remove_thumbnails(store, key)
