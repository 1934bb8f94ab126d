"""tus uploads: sessions in the catalog, partial bytes in the blob store's staging area.

Nothing about an upload lives in process memory between requests, so another replica (or
this one after a restart) continues it. An offset is written to the catalog only after the
bytes before it were fsynced: the advertised offset never runs ahead of durable data.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from filebay.catalog.files import Catalog, FileRecord, NewFile
from filebay.catalog.quota import Quota
from filebay.catalog.uploads import UploadSession, UploadSessions
from filebay.errors import (
    BlobNotFound,
    ChecksumMismatch,
    ClientGone,
    FilebayError,
    Gone,
    NotFound,
    OffsetMismatch,
    QuotaExceeded,
    RequestTimeout,
    StorageFull,
    StorageUnavailable,
    TooLarge,
    UploadLocked,
)
from filebay.ids import new_id
from filebay.names import clean_name, guess_content_type
from filebay.storage.base import BlobStore, StagedWriter, Staging, StagingStore

log = logging.getLogger("filebay.transfer.tus")

# A PATCH holds its upload by a lease that it renews while bytes keep coming. A request that
# died with its server (or whose client went silent) stops renewing, and the upload is free
# again this long after: tus clients retry a 423 for a few seconds, not for minutes.
LEASE_SECONDS = 10
RENEW_EVERY = 3.0
BATCH_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Progress:
    offset: int
    length: int
    expires_at: datetime | None
    record: FileRecord | None = None


class TusService:
    def __init__(
        self,
        store: BlobStore,
        catalog: Catalog,
        uploads: UploadSessions,
        *,
        max_size: int,
        expiry_seconds: int,
    ) -> None:
        if not isinstance(store, Staging):
            raise TypeError("this blob store cannot stage resumable uploads")
        self._store: StagingStore = store
        self._catalog = catalog
        self._uploads = uploads
        self.max_size = max_size
        self._expiry = timedelta(seconds=expiry_seconds)

    def _expires(self) -> datetime:
        return datetime.now(UTC) + self._expiry

    async def create(
        self,
        owner: str,
        quota: Quota | None,
        length: int,
        name: str | None,
        content_type: str | None,
        metadata_header: str,
    ) -> UploadSession:
        if length > self.max_size:
            raise TooLarge()
        clean = clean_name(name)
        now = datetime.now(UTC)
        session = UploadSession(
            id=new_id(),
            owner=owner,
            length=length,
            offset=0,
            name=clean,
            content_type=guess_content_type(clean, content_type),
            metadata_header=metadata_header,
            created_at=now,
            expires_at=now + self._expiry,
        )
        await self._store.create_staged(session.id)
        try:
            # The quota counts the whole lengths of the owner's other live uploads too: bytes
            # parked in unfinished uploads take disk space like stored files.
            await self._uploads.create_upload(session, quota)
        except BaseException:
            await self._store.delete_staged(session.id)
            raise
        return session

    async def status(
        self, upload_id: str, scope: str | None, quota: Quota | None
    ) -> tuple[Progress, str]:
        """Offset, length and metadata of an upload; a finished one reads as complete."""
        try:
            session = await self._uploads.get_upload(upload_id, scope)
        except NotFound:
            record = await self._catalog.get(upload_id, scope)
            return Progress(record.size, record.size, None, record), ""
        if session.expires_at < datetime.now(UTC):
            await self.terminate(upload_id, scope)
            raise Gone()
        if session.offset == session.length:
            # A crash between the last write and the record: finish it now, holding the
            # lease, for the PATCH that wrote the last byte may be finishing it right now.
            token = new_id()
            try:
                session = await self._uploads.lock_upload(
                    upload_id, session.owner, token, LEASE_SECONDS
                )
            except UploadLocked:
                return Progress(session.offset, session.length, None), session.metadata_header
            except NotFound:  # that PATCH has just finished it
                record = await self._catalog.get(upload_id, scope)
                return Progress(record.size, record.size, None, record), ""
            try:
                record = await self._finish(session, quota, token)
            finally:
                with contextlib.suppress(Exception):
                    await self._uploads.unlock_upload(upload_id, token)
            return Progress(session.length, session.length, None, record), ""
        return Progress(session.offset, session.length, session.expires_at), (
            session.metadata_header
        )

    async def append(
        self,
        upload_id: str,
        owner: str,
        quota: Quota | None,
        offset: int,
        checksum: tuple[str, bytes] | None,
        declared: int | None,
        body: AsyncIterator[bytes],
    ) -> Progress:
        """One PATCH: write from ``offset``, make it durable, advance; finish at the end."""
        token = new_id()
        session = await self._uploads.lock_upload(upload_id, owner, token, LEASE_SECONDS)
        released = False
        try:
            if session.expires_at < datetime.now(UTC):
                raise Gone()
            if offset != session.offset:
                raise OffsetMismatch()
            if declared is not None and offset + declared > session.length:
                raise TooLarge("the body goes past Upload-Length")
            size = await self._write(session, token, checksum, body)
            expires = self._expires()
            # A PATCH that does not finish the upload gives the lease up with its progress.
            release = size != session.length
            await self._uploads.advance_upload(upload_id, token, size, expires, release=release)
            released = release
            if size == session.length:
                record = await self._finish(replace(session, offset=size), quota, token)
                return Progress(size, session.length, None, record)
            return Progress(size, session.length, expires)
        except Gone:
            await self.terminate(upload_id, owner)
            raise
        finally:
            if not released:
                with contextlib.suppress(Exception):
                    await self._uploads.unlock_upload(upload_id, token)

    async def _write(
        self,
        session: UploadSession,
        token: str,
        checksum: tuple[str, bytes] | None,
        body: AsyncIterator[bytes],
    ) -> int:
        writer = await self._store.append_staged(session.id, session.offset)
        hasher = hashlib.new(checksum[0]) if checksum else None
        room = session.length - session.offset
        received = 0
        batch = bytearray()
        renewed = time.monotonic()
        try:
            try:
                async for chunk in body:
                    received += len(chunk)
                    if received > room:
                        raise TooLarge("the body goes past Upload-Length")
                    if time.monotonic() - renewed > RENEW_EVERY:
                        # Before writing: UploadLocked if another request took the upload
                        # over while this one was silent.
                        await self._uploads.renew_lock(session.id, token, LEASE_SECONDS)
                        renewed = time.monotonic()
                    batch += chunk
                    if len(batch) >= BATCH_BYTES:
                        await self._flush(writer, hasher, batch)
                        batch = bytearray()
                if batch:
                    await self._flush(writer, hasher, batch)
                if checksum is not None:
                    assert hasher is not None
                    if not hmac.compare_digest(hasher.digest(), checksum[1]):
                        raise ChecksumMismatch()
                return await writer.sync()
            except (ClientGone, RequestTimeout):
                # Gone, or cut off for stalling: the same to tus, which resumes from here.
                await self._keep_what_arrived(session, token, writer, batch, checksum is not None)
                raise
            except (
                TooLarge,
                ChecksumMismatch,
                StorageFull,
                StorageUnavailable,
                OSError,
                asyncio.CancelledError,
            ):
                # Nothing past the recorded offset is kept; a full disk above all, whose
                # bytes would keep it full (and a catalog on it) until the upload expired.
                await writer.truncate(session.offset)
                raise
        finally:
            await writer.close()

    @staticmethod
    async def _flush(writer: StagedWriter, hasher: Any, batch: bytearray) -> None:
        if hasher is None:
            await writer.write(batch)
            return
        # The chunk checksum and the write run in two threads at once.
        hashed = asyncio.ensure_future(asyncio.to_thread(hasher.update, batch))
        try:
            await writer.write(batch)
        finally:
            await hashed

    async def _keep_what_arrived(
        self,
        session: UploadSession,
        token: str,
        writer: StagedWriter,
        batch: bytearray,
        checksummed: bool,
    ) -> None:
        """The client went away: keep the bytes that arrived (tus resumes from there), unless
        the chunk carried a checksum that can no longer be checked."""
        try:
            # Only while this request still holds the upload: a silent client's request may
            # have lost it to the client's next one, whose bytes must not be touched.
            await self._uploads.renew_lock(session.id, token, LEASE_SECONDS)
            if checksummed:
                await writer.truncate(session.offset)
                return
            if batch:
                await writer.write(batch)
            size = await writer.sync()
            await self._uploads.advance_upload(session.id, token, size, self._expires())
        except Exception:  # best effort: the offset stays where it was, which is safe
            log.warning("could not keep the partial chunk of upload %s", session.id)

    async def _finish(self, session: UploadSession, quota: Quota | None, token: str) -> FileRecord:
        """Publish, hash and record a complete upload (idempotent after a crash), holding the
        upload's lease ``token`` all along: hashing a large file outlasts a lease."""
        heartbeat = asyncio.create_task(self._renew_every(session.id, token))
        try:
            return await self._publish_and_record(session, quota)
        finally:
            heartbeat.cancel()
            await asyncio.wait([heartbeat])

    async def _renew_every(self, upload_id: str, token: str) -> None:
        try:
            while True:
                await asyncio.sleep(RENEW_EVERY)
                await self._uploads.renew_lock(upload_id, token, LEASE_SECONDS)
        except FilebayError as exc:  # the session is gone, or the catalog is down: go on
            log.debug("lease of upload %s not renewed: %s", upload_id, exc)

    async def _publish_and_record(self, session: UploadSession, quota: Quota | None) -> FileRecord:
        """The staged bytes are published first and hashed from the blob: every backend can
        read a blob back, while an S3 multipart upload cannot be read before it is completed."""
        try:
            await self._store.publish_staged(session.id)
        except BlobNotFound:
            # Published before a crash; the record may exist already.
            with contextlib.suppress(NotFound):
                existing = await self._catalog.get(session.id, session.owner)
                await self._uploads.delete_upload(session.id, None)
                return existing
        digest = await _sha256(self._store.read(session.id))
        new = NewFile(
            id=session.id,
            owner=session.owner,
            name=session.name,
            size=session.length,
            content_type=session.content_type,
            sha256=digest,
            blob_key=session.id,
        )
        try:
            record = await self._catalog.add(new, quota)
        except QuotaExceeded:
            await self._store.delete(session.id)
            await self._uploads.delete_upload(session.id, None)
            raise
        await self._uploads.delete_upload(session.id, None)
        return record

    async def terminate(self, upload_id: str, scope: str | None) -> None:
        """Drop an unfinished upload: the session, then its staged bytes."""
        session = await self._uploads.get_upload(upload_id, scope)
        await self._uploads.delete_upload(session.id, scope)
        await self._store.delete_staged(session.id)

    async def discard(self, upload_id: str, owner: str) -> None:
        """``terminate`` at any cost: for cleanup after a failure (which it must not hide),
        and run to the end even when the request is being cancelled."""
        with contextlib.suppress(Exception):
            await asyncio.shield(self.terminate(upload_id, owner))


async def _sha256(chunks: AsyncIterator[bytes]) -> str:
    digest = hashlib.sha256()
    async for chunk in chunks:
        await asyncio.to_thread(digest.update, chunk)
    return digest.hexdigest()
