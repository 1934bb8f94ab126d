"""The write lease of an upload, in process (SQLite, local staging): a PATCH whose lease ran
out while its client was silent, and that another PATCH took over, writes nothing more."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from filebay.catalog.files import ListQuery
from filebay.catalog.sql.files import SqlCatalog
from filebay.catalog.sql.models import UploadRow
from filebay.catalog.sql.uploads import SqlUploads
from filebay.errors import ClientGone, UploadLocked
from filebay.storage.local import LocalBlobStore
from filebay.transfer.tus import service
from filebay.transfer.tus.service import TusService

LENGTH = 20


async def _paused(first: bytes, gate: asyncio.Event, then: bytes | None) -> AsyncIterator[bytes]:
    """``first``, a wait for ``gate``, then ``then`` (or the client vanishes, for None)."""
    yield first
    await gate.wait()
    if then is None:
        raise ClientGone()
    yield then


async def _body(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _vanishing() -> AsyncIterator[bytes]:
    """A client that goes away before sending a byte."""
    raise ClientGone()
    yield b""  # pragma: no cover - makes this an async generator


@contextlib.asynccontextmanager
async def _tus_on_sqlite(
    tmp_path: Path, uploads_type: type[SqlUploads] = SqlUploads
) -> AsyncIterator[tuple[SqlCatalog, SqlUploads, LocalBlobStore, TusService]]:
    """A TusService on a fresh SQLite catalog and local staging, closed afterwards."""
    catalog = await SqlCatalog.open(f"sqlite+aiosqlite:///{tmp_path / 'filebay.db'}")
    try:
        uploads = uploads_type(catalog.engine)
        store = LocalBlobStore(tmp_path / "data")
        tus = TusService(store, catalog, uploads, max_size=1 << 20, expiry_seconds=3600)
        yield catalog, uploads, store, tus
    finally:
        await catalog.close()


async def _taken_over(tmp_path: Path, then: bytes | None) -> tuple[bytes, int, BaseException]:
    async with _tus_on_sqlite(tmp_path) as (catalog, uploads, store, tus):
        session = await tus.create("alice", None, LENGTH, "x.bin", None, "")
        gate = asyncio.Event()
        first = asyncio.create_task(
            tus.append(session.id, "alice", None, 0, None, None, _paused(b"a" * 5, gate, then))
        )
        await asyncio.sleep(0.2)  # the first PATCH holds the lease and has its first bytes
        assert not first.done()
        # Its client goes silent past the lease...
        async with catalog.engine.begin() as db:
            await db.execute(
                update(UploadRow)
                .where(UploadRow.id == session.id)
                .values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
            )
        # ... and the client's next PATCH takes the upload over.
        progress = await tus.append(session.id, "alice", None, 0, None, None, _body(b"b" * 10))
        assert progress.offset == 10
        gate.set()  # the silent request wakes up
        outcome = await asyncio.gather(first, return_exceptions=True)
        error = outcome[0]
        assert isinstance(error, BaseException)
        staged = (store.staging_dir / session.id).read_bytes()
        return staged, (await uploads.get_upload(session.id, None)).offset, error


def test_a_request_that_lost_its_lease_writes_no_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "RENEW_EVERY", 0.0)  # check the lease at every chunk
    staged, offset, error = asyncio.run(_taken_over(tmp_path, b"c" * 5))
    assert isinstance(error, UploadLocked)
    assert (staged, offset) == (b"b" * 10, 10)


def test_a_request_that_lost_its_lease_keeps_nothing_when_its_client_vanishes(
    tmp_path: Path,
) -> None:
    # Its 5 bytes wait in the batch; keeping them would overwrite the new request's bytes.
    staged, offset, error = asyncio.run(_taken_over(tmp_path, None))
    assert isinstance(error, ClientGone)
    assert (staged, offset) == (b"b" * 10, 10)


async def _finish_slowly(tmp_path: Path) -> tuple[list[object], int]:
    catalog = await SqlCatalog.open(f"sqlite+aiosqlite:///{tmp_path / 'filebay.db'}")
    try:
        uploads = SqlUploads(catalog.engine)
        store = LocalBlobStore(tmp_path / "data")
        tus = TusService(store, catalog, uploads, max_size=1 << 20, expiry_seconds=3600)
        session = await tus.create("alice", None, 4, "x.bin", None, "")
        last = asyncio.create_task(
            tus.append(session.id, "alice", None, 0, None, None, _body(b"abcd"))
        )
        await asyncio.sleep(1.5)  # past the lease: the last PATCH is still finishing
        assert not last.done()
        others: list[object] = []
        for attempt in (
            tus.append(session.id, "alice", None, 4, None, None, _body(b"")),
            tus.status(session.id, "alice", None),
        ):
            try:
                others.append(await attempt)
            except UploadLocked as exc:
                others.append(exc)
        others.append(await last)
        listed = await catalog.list("alice", ListQuery())
        return others, len(listed.items)
    finally:
        await catalog.close()


def test_the_last_patch_holds_the_upload_while_it_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Publishing can take longer than a lease (S3 completes a multipart upload of many
    parts slowly): the finishing PATCH keeps renewing it, so a retried PATCH or a HEAD
    meanwhile does not record the file a second time."""
    monkeypatch.setattr(service, "LEASE_SECONDS", 1)
    monkeypatch.setattr(service, "RENEW_EVERY", 0.2)
    publish = LocalBlobStore.publish_staged

    async def slowly(store: LocalBlobStore, key: str) -> None:
        await asyncio.sleep(3)
        await publish(store, key)

    monkeypatch.setattr(LocalBlobStore, "publish_staged", slowly)
    (retried, head, last), files = asyncio.run(_finish_slowly(tmp_path))
    assert isinstance(retried, UploadLocked)
    assert isinstance(head, tuple)
    assert head[0].offset == 4 and head[0].record is None  # complete, not recorded by HEAD
    assert isinstance(last, service.Progress) and last.record is not None
    assert files == 1


class _CountingUploads(SqlUploads):
    """Counts the separate unlock writes (a PATCH that advances releases in that write)."""

    unlocks = 0

    async def unlock_upload(self, upload_id: str, token: str) -> None:
        self.unlocks += 1
        await super().unlock_upload(upload_id, token)


def test_a_patch_gives_up_its_lease_with_its_progress(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with _tus_on_sqlite(tmp_path, _CountingUploads) as (_c, uploads, _s, tus):
            assert isinstance(uploads, _CountingUploads)
            session = await tus.create("alice", None, LENGTH, "x.bin", None, "")
            progress = await tus.append(session.id, "alice", None, 0, None, None, _body(b"a" * 5))
            assert progress.offset == 5
            assert uploads.unlocks == 0  # released by the advance itself
            # Unlocked at once: another token may take the lease without waiting it out.
            taken = await uploads.lock_upload(session.id, "alice", "f" * 32, 60)
            assert taken.offset == 5
            await uploads.unlock_upload(session.id, "f" * 32)
            uploads.unlocks = 0
            # A PATCH that fails keeps nothing and still releases (the separate unlock).
            with pytest.raises(ClientGone):
                await tus.append(session.id, "alice", None, 5, None, None, _vanishing())
            assert uploads.unlocks == 1
            done = await tus.append(session.id, "alice", None, 5, None, None, _body(b"b" * 15))
            assert done.record is not None and done.record.size == LENGTH

    asyncio.run(scenario())
