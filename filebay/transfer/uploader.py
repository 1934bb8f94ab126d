"""The upload use case: bytes into the blob store, then the record into the catalog."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from filebay.catalog.files import ROOT, Catalog, FileRecord, NewFile, OnConflict
from filebay.catalog.quota import Quota
from filebay.errors import CatalogOutcomeUnknown, MalformedUpload, QuotaExceeded, TooLarge
from filebay.names import clean_name, guess_content_type
from filebay.storage.base import BlobStore
from filebay.transfer.ingest import BlobIngest, StoredBlob
from filebay.transfer.multipart import PartData, PartEnd, PartStart, iter_parts
from filebay.transfer.removal import remove_blobs

log = logging.getLogger("filebay.upload")

FILE_FIELD = "file"
#: A blob already published, with the name and type the client gave it.
Published = tuple[StoredBlob, str, str | None]
MAX_FIELD_BYTES = 64 * 1024


class Uploader:
    """Stores uploads for one owner. Blob first, record second; on any failure neither.

    ``check_quota`` says how many bytes this request may store; ``put`` and ``multipart``
    take that figure (the server's maximum when not given): no state passes between them.
    """

    def __init__(
        self,
        store: BlobStore,
        catalog: Catalog,
        owner: str,
        limit: int,
        quota: Quota | None = None,
        *,
        folder_id: str = ROOT,
        on_conflict: OnConflict = OnConflict.rename,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._owner = owner
        self._max_size = limit
        self._quota = quota
        #: Where the files go, and what happens when a name there is taken.
        self._folder_id = folder_id
        self._on_conflict = on_conflict

    async def into_path(self, segments: list[str]) -> None:
        """Upload below the folders ``segments`` (made where missing) of the target folder:
        ``PUT /api/upload/photos/2026/a.jpg``, tus ``relativePath``."""
        names = [clean_name(s) for s in segments]
        self._folder_id = await self._catalog.ensure_folders(self._owner, self._folder_id, names)

    async def check_quota(self, declared_size: int | None = None) -> int:
        """Before reading: the bytes left in the owner's quota cap this upload, and an owner
        at or over it stores nothing, not even an empty file. (The exact rule, counting
        unfinished uploads and files, runs again with the record: ``sql_quota``.)

        Returns the bytes this request may store, for ``put`` and ``multipart``."""
        if self._quota is None or self._quota.max_bytes is None:
            return self._max_size
        left = self._quota.max_bytes - await self._catalog.usage(self._owner)
        if left <= 0 or (declared_size is not None and declared_size > left):
            raise QuotaExceeded()
        return min(self._max_size, left)

    def _too_large(self, exc: TooLarge, limit: int) -> TooLarge:
        # Say which limit was hit: the quota, or the server's maximum upload size.
        if isinstance(exc, QuotaExceeded) or limit < self._max_size:
            return QuotaExceeded()
        return TooLarge()

    def _new_file(self, blob: StoredBlob, name: str, content_type: str | None) -> NewFile:
        clean = clean_name(name)
        return NewFile(
            id=blob.key,
            owner=self._owner,
            name=clean,
            size=blob.size,
            content_type=guess_content_type(clean, content_type),
            sha256=blob.sha256,
            blob_key=blob.key,
            folder_id=self._folder_id,
            on_conflict=self._on_conflict,
            crc32=blob.crc32,
        )

    async def _record(self, blob: StoredBlob, name: str, content_type: str | None) -> FileRecord:
        return (await self._record_all([(blob, name, content_type)]))[0]

    async def _record_all(self, published: list[Published]) -> list[FileRecord]:
        """Record every published blob in one transaction. Owns the blobs from here on:
        when no record can exist, they are removed."""
        news = [self._new_file(blob, name, ctype) for blob, name, ctype in published]
        try:
            records = await self._catalog.add_many(news, self._quota)
        except (CatalogOutcomeUnknown, asyncio.CancelledError):
            # The records may exist after all (a cancelled caller does not stop a commit
            # already under way): blobs without records are the safe side.
            raise
        except BaseException:
            await self._discard(None, published)  # no record exists: leave no blob
            raise
        # on_conflict=replace: the files these took the place of lose their bytes now.
        await remove_blobs(
            self._store, [r.replaced_blob_key for r in records if r.replaced_blob_key]
        )
        return records

    async def put(
        self,
        name: str,
        content_type: str | None,
        body: AsyncIterator[bytes],
        *,
        limit: int | None = None,
    ) -> FileRecord:
        """A raw body is one file, of at most ``limit`` bytes (from ``check_quota``)."""
        limit = self._max_size if limit is None else limit
        ingest = await BlobIngest.start(self._store, limit)
        try:
            async for chunk in body:
                await ingest.feed(chunk)
            blob = await ingest.finish()
        except TooLarge as exc:
            await ingest.abort()
            raise self._too_large(exc, limit) from exc
        except BaseException:
            await ingest.abort()
            raise
        return await self._record(blob, name, content_type)

    async def multipart(
        self,
        content_type: str | None,
        body: AsyncIterator[bytes],
        *,
        limit: int | None = None,
    ) -> list[FileRecord]:
        """Every part named ``file`` becomes a file; other fields are read and ignored.
        ``limit`` (from ``check_quota``) caps each file, and all of them together when the
        quota set it.

        All or nothing: when any part fails, the blobs already published are removed, and
        the records are written in one transaction.
        """
        limit = self._max_size if limit is None else limit
        by_quota = limit < self._max_size
        published: list[Published] = []
        ingest: BlobIngest | None = None
        current: PartStart | None = None
        field_bytes = 0
        try:
            async for event in iter_parts(content_type, body):
                if isinstance(event, PartStart):
                    current = event
                    if event.name == FILE_FIELD:
                        # The quota is shared by every file of the request.
                        left = limit - sum(b.size for b, _n, _t in published)
                        ingest = await BlobIngest.start(
                            self._store, left if by_quota else self._max_size
                        )
                elif isinstance(event, PartData):
                    if ingest is not None:
                        await ingest.feed(event.data)
                    else:
                        field_bytes += len(event.data)
                        if field_bytes > MAX_FIELD_BYTES:
                            raise MalformedUpload("form fields too large")
                elif isinstance(event, PartEnd) and ingest is not None and current is not None:
                    blob = await ingest.finish()
                    ingest = None
                    published.append((blob, current.filename or "", current.content_type))
            if not published:
                raise MalformedUpload("no part named 'file'")
            # From here on _record_all owns the blobs: all are recorded, or none.
            owned, published = published, []
            return await self._record_all(owned)
        except TooLarge as exc:
            await self._discard(ingest, published)
            raise self._too_large(exc, limit) from exc
        except BaseException:
            await self._discard(ingest, published)
            raise

    async def _discard(self, ingest: BlobIngest | None, published: list[Published]) -> None:
        if ingest is not None:
            await ingest.abort()
        for blob, _name, _ctype in published:
            await self._store.delete(blob.key)
