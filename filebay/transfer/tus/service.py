"""tus uploads: sessions in the catalog, partial bytes in the blob store's staging area.

Nothing about an upload needs process memory between requests, so another replica (or
this one after a restart) continues it. An offset is written to the catalog only after the
bytes before it were fsynced: the advertised offset never runs ahead of durable data.

The SHA-256 and CRC-32 are computed as the bytes come in and kept in this process between
PATCHes (``digests``), so finishing reads nothing back; a PATCH landing in a process without
them hashes the bytes before it once (see ``TusService._digest_at``).
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

from filebay.catalog.files import Catalog, FileRecord, NewFile, OnConflict
from filebay.catalog.folders import ROOT_WORD, folder_id_of
from filebay.catalog.quota import Quota
from filebay.catalog.uploads import UploadSession, UploadSessions
from filebay.errors import (
    BadRequest,
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
from filebay.storage.base import (
    BlobStore,
    ReadableStaging,
    StagedWriter,
    Staging,
    StagingStore,
)
from filebay.transfer.removal import remove_blobs
from filebay.transfer.tus.digests import PROCESS_DIGESTS, Digest, Digests, hash_into
from filebay.transfer.tus.headers import metadata_text, parse_metadata

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
        digests: Digests = PROCESS_DIGESTS,
    ) -> None:
        if not isinstance(store, Staging):
            raise TypeError("this blob store cannot stage resumable uploads")
        self._store: StagingStore = store
        self._catalog = catalog
        self._uploads = uploads
        self.max_size = max_size
        self._expiry = timedelta(seconds=expiry_seconds)
        self._digests = digests

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
        # The folder must exist (or be made) before any byte is accepted: an unknown
        # folder_id is a 404 now, not when the last byte arrives.
        await self._folder_of(owner, metadata_header)
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
                digest = await self._digest_at(session, token)
                record = await self._finish(session, quota, token, digest)
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
            digest = await self._digest_at(session, token)
            size = await self._write(session, token, checksum, body, digest)
            expires = self._expires()
            # A PATCH that does not finish the upload gives the lease up with its progress.
            release = size != session.length
            await self._uploads.advance_upload(upload_id, token, size, expires, release=release)
            released = release
            if size == session.length:
                finished = replace(session, offset=size)
                record = await self._finish(finished, quota, token, digest)
                return Progress(size, session.length, None, record)
            self._keep(upload_id, digest, size)
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
        digest: Digest | None,
    ) -> int:
        """Append the body; ``digest`` (the hashes of the bytes before it, if known) goes on
        with it. On failure the digest is put back as it was, for the bytes are too."""
        writer = await self._store.append_staged(session.id, session.offset)
        hasher = hashlib.new(checksum[0]) if checksum else None
        before = digest.copy() if digest is not None else None
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
                        await self._flush(writer, batch, hasher, digest)
                        batch = bytearray()
                if batch:
                    await self._flush(writer, batch, hasher, digest)
                if checksum is not None:
                    assert hasher is not None
                    if not hmac.compare_digest(hasher.digest(), checksum[1]):
                        raise ChecksumMismatch()
                return await writer.sync()
            except (ClientGone, RequestTimeout):
                # Gone, or cut off for stalling: the same to tus, which resumes from here.
                kept = await self._keep_what_arrived(
                    session, token, writer, batch, checksum is not None, digest
                )
                self._keep(session.id, digest if kept else before, kept or session.offset)
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
                self._keep(session.id, before, session.offset)
                raise
        finally:
            await writer.close()

    @staticmethod
    async def _flush(
        writer: StagedWriter, batch: bytearray, hasher: Any, digest: Digest | None
    ) -> None:
        if hasher is None and digest is None:
            await writer.write(batch)
            return

        def hash_batch() -> None:
            if hasher is not None:
                hasher.update(batch)
            if digest is not None:
                digest.update(batch)

        # The hashes and the write run in two threads at once.
        hashed = asyncio.ensure_future(asyncio.to_thread(hash_batch))
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
        digest: Digest | None,
    ) -> int | None:
        """The client went away: keep the bytes that arrived (tus resumes from there), unless
        the chunk carried a checksum that can no longer be checked. The offset recorded, or
        None when it stayed where it was."""
        try:
            # Only while this request still holds the upload: a silent client's request may
            # have lost it to the client's next one, whose bytes must not be touched.
            await self._uploads.renew_lock(session.id, token, LEASE_SECONDS)
            if checksummed:
                await writer.truncate(session.offset)
                return None
            if batch:
                await writer.write(batch)
                if digest is not None:
                    await asyncio.to_thread(digest.update, batch)
            size = await writer.sync()
            await self._uploads.advance_upload(session.id, token, size, self._expires())
            return size
        except Exception:  # best effort: the offset stays where it was, which is safe
            log.warning("could not keep the partial chunk of upload %s", session.id)
            return None

    def _keep(self, upload_id: str, digest: Digest | None, offset: int) -> None:
        """Hold the hashes of the first ``offset`` bytes (recorded) for the next PATCH."""
        if digest is not None and digest.offset == offset:
            self._digests.keep(upload_id, digest)

    async def _digest_at(self, session: UploadSession, token: str) -> Digest | None:
        """The hashes of the upload's first ``session.offset`` bytes: this process's own, with
        the bytes another process (or this one before a restart) wrote since read from the
        staging area, once. None when those cannot be read (S3: the parts of an unfinished
        multipart upload are not readable; the finish reads the blob once instead)."""
        digest = self._digests.take(session.id, session.offset) or Digest()
        if digest.offset == session.offset:
            return digest
        if not isinstance(self._store, ReadableStaging):
            return None
        unseen = self._store.read_staged(session.id, digest.offset, session.offset)
        try:
            async with self._holding(session.id, token):
                await hash_into(digest, unseen)
        except BlobNotFound:  # published already (a crash before the record): read it then
            return None
        return digest if digest.offset == session.offset else None

    @contextlib.asynccontextmanager
    async def _holding(self, upload_id: str, token: str) -> AsyncIterator[None]:
        """Renew the upload's lease while the body runs: reading back or publishing a large
        file (S3 completes a multipart upload of many parts slowly) outlasts a lease."""
        heartbeat = asyncio.create_task(self._renew_every(upload_id, token))
        try:
            yield
        finally:
            heartbeat.cancel()
            await asyncio.wait([heartbeat])

    async def _finish(
        self, session: UploadSession, quota: Quota | None, token: str, digest: Digest | None
    ) -> FileRecord:
        """Publish and record a complete upload (idempotent after a crash), holding the
        upload's lease ``token`` all along."""
        self._digests.drop(session.id)
        async with self._holding(session.id, token):
            return await self._publish_and_record(session, quota, digest)

    async def _renew_every(self, upload_id: str, token: str) -> None:
        try:
            while True:
                await asyncio.sleep(RENEW_EVERY)
                await self._uploads.renew_lock(upload_id, token, LEASE_SECONDS)
        except FilebayError as exc:  # the session is gone, or the catalog is down: go on
            log.debug("lease of upload %s not renewed: %s", upload_id, exc)

    async def _publish_and_record(
        self, session: UploadSession, quota: Quota | None, digest: Digest | None
    ) -> FileRecord:
        """Publish the staged bytes, then record them with the hashes computed on the way in;
        without those (``digest`` None: S3 staging continued by another process) the blob is
        read back once, for an S3 multipart upload cannot be read before it is completed."""
        try:
            await self._store.publish_staged(session.id)
        except BlobNotFound:
            # Published before a crash; the record may exist already.
            with contextlib.suppress(NotFound):
                existing = await self._catalog.get(session.id, session.owner)
                await self._uploads.delete_upload(session.id, None)
                return existing
        if digest is None or digest.offset != session.length:
            digest = Digest()
            await hash_into(digest, self._store.read(session.id))
        # Again at the end: the folders are made again if they went meanwhile.
        folder_id = await self._folder_of(session.owner, session.metadata_header)
        new = NewFile(
            id=session.id,
            owner=session.owner,
            name=session.name,
            size=session.length,
            content_type=session.content_type,
            sha256=digest.hexdigest(),
            crc32=digest.crc32,
            blob_key=session.id,
            folder_id=folder_id,
            on_conflict=placement(session.metadata_header).on_conflict,
        )
        try:
            record = await self._catalog.add(new, quota)
        except QuotaExceeded:
            await self._store.delete(session.id)
            await self._uploads.delete_upload(session.id, None)
            raise
        await self._uploads.delete_upload(session.id, None)
        if record.replaced_blob_key:
            await remove_blobs(self._store, [record.replaced_blob_key])
        return record

    async def _folder_of(self, owner: str, metadata_header: str) -> str:
        where = placement(metadata_header)
        return await self._catalog.ensure_folders(owner, where.folder_id, where.folders)

    async def terminate(self, upload_id: str, scope: str | None) -> None:
        """Drop an unfinished upload: the session, then its staged bytes."""
        session = await self._uploads.get_upload(upload_id, scope)
        await self._uploads.delete_upload(session.id, scope)
        self._digests.drop(session.id)
        await self._store.delete_staged(session.id)

    async def discard(self, upload_id: str, owner: str) -> None:
        """``terminate`` at any cost: for cleanup after a failure (which it must not hide),
        and run to the end even when the request is being cancelled."""
        with contextlib.suppress(Exception):
            await asyncio.shield(self.terminate(upload_id, owner))


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a tus upload's file goes, from its ``Upload-Metadata``: ``folder_id`` (or the
    root), the folders of ``relativePath`` (Uppy's key: ``photos/2026/a.jpg``) below it,
    and ``on_conflict``."""

    folder_id: str
    folders: list[str]
    on_conflict: OnConflict


def placement(metadata_header: str) -> Placement:
    metadata = parse_metadata(metadata_header)
    folder_id = folder_id_of(metadata_text(metadata, "folder_id") or ROOT_WORD)
    relative = metadata_text(metadata, "relativePath") or ""
    # "." and ".." name no folder: a path never climbs; it is cleaned, as PUT's is.
    segments = [s for s in relative.replace("\\", "/").split("/") if s not in ("", ".", "..")]
    folders = [clean_name(s) for s in segments[:-1]]
    conflict = metadata_text(metadata, "on_conflict") or OnConflict.rename.value
    if conflict not in OnConflict.__members__:
        raise BadRequest("on_conflict must be rename, replace or fail")
    return Placement(folder_id, folders, OnConflict(conflict))
