"""Blobs as files under ``<data dir>/blobs``, written through ``<data dir>/tmp`` (same fs)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from filebay.errors import BlobNotFound, StorageFull, StorageUnavailable
from filebay.ids import is_valid_id, new_id
from filebay.storage.base import BlobStat
from filebay.storage.keys import is_blob_key
from filebay.storage.writeback import KICK_BYTES, start_writeback

READ_CHUNK = 1024 * 1024
DEPLOYMENT_FILE = ".filebay-deployment"


def _translate(exc: OSError) -> Exception:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageFull()
    if exc.errno == errno.ENOENT:
        return BlobNotFound()
    return StorageUnavailable(f"blob store error: {exc.strerror or exc}")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(folder: Path, root: Path) -> None:
    """Create ``folder`` and its missing parents below ``root``, durably: a new directory's
    name lives in its parent, so each parent is fsynced too (else a crash could take the
    directory, and the blob published in it, away while the record stays)."""
    missing: list[Path] = []
    while folder != root and not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        # Made by a concurrent writer or by us: fsync the parent either way, so neither
        # writer publishes into a directory whose name is not durable yet.
        with contextlib.suppress(FileExistsError):
            os.mkdir(new)
        _fsync_dir(new.parent)


def _rename_into(temp: Path, final: Path, root: Path) -> None:
    """Rename ``temp`` to ``final`` and make it durable, creating the blob's directory the
    first time (tried after the rename fails, so a publish costs no mkdir)."""
    try:
        os.rename(temp, final)
    except FileNotFoundError:
        _make_dirs(final.parent, root)
        os.rename(temp, final)  # a temp file that is gone raises again, as it should
    _fsync_dir(final.parent)


class _Appender:
    """Writes whole buffers at the end of a file and starts the kernel's writeback every
    ``KICK_BYTES`` (runs in a worker thread)."""

    def __init__(self, fd: int, size: int = 0) -> None:
        self.fd = fd
        self.size = size
        self._flushed = size

    def append(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
            self.size += written
        if self.size - self._flushed >= KICK_BYTES:
            start_writeback(self.fd, self._flushed, self.size - self._flushed)
            self._flushed = self.size


def _open_and_read(path: Path, start: int, end: int | None) -> tuple[int, int, bytes]:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if end is None:
            end = os.fstat(fd).st_size
        first = os.pread(fd, min(READ_CHUNK, end - start), start) if end > start else b""
    except BaseException:
        os.close(fd)
        raise
    return fd, end, first


def _scan_flat(folder: Path) -> list[BlobStat]:
    """The blobs of a flat folder (staging, quarantine) named by ids; one that vanishes while
    it is listed is skipped."""
    found = []
    for entry in os.scandir(folder):
        if is_blob_key(entry.name):
            try:
                found.append(_stat(entry.name, Path(entry.path)))
            except FileNotFoundError:
                continue
    return found


def _stat(key: str, path: Path) -> BlobStat:
    st = path.stat()
    return BlobStat(key=key, size=st.st_size, modified_at=datetime.fromtimestamp(st.st_mtime, UTC))


class LocalBlobWriter:
    """Writes to a temp file; ``commit`` is fsync, rename into place, fsync the directory.

    The temp file is created by the first write that reaches the disk, in the worker thread:
    creating a file can wait on the directory, and the event loop must not. Writes under
    ``HOLD_BYTES`` are held in memory until the next write or the commit, so a small file
    costs one worker-thread hop in all (create, write, fsync, rename), not three.
    """

    HOLD_BYTES = 256 * 1024

    def __init__(self, store: LocalBlobStore, key: str) -> None:
        self._final = store.path_for(key)
        self._root = store.blob_dir
        # Keys are fresh random ids, so the name is unique; O_EXCL makes sure of it.
        self._temp = store.temp_dir / f"{key}.part"
        self._out: _Appender | None = None
        self._finished = False
        self._held = bytearray()

    def _appender(self) -> _Appender:
        if self._out is None:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
            self._out = _Appender(os.open(self._temp, flags, 0o600))
        return self._out

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self._finished, "writer is finished"
        if len(self._held) + len(data) < self.HOLD_BYTES:
            self._held += data
            return
        held, self._held = self._held, bytearray()
        try:
            await asyncio.to_thread(self._append, held, data)
        except OSError as exc:
            await self.abort()
            raise _translate(exc) from exc

    def _append(self, held: bytearray, data: bytes | bytearray | memoryview) -> None:
        out = self._appender()
        if held:
            out.append(held)
        out.append(data)

    def _publish(self, held: bytearray) -> None:
        out = self._appender()
        if held:
            out.append(held)
        os.fsync(out.fd)
        self._out = None
        os.close(out.fd)
        _rename_into(self._temp, self._final, self._root)

    async def commit(self) -> None:
        assert not self._finished, "writer is finished"
        held, self._held = self._held, bytearray()
        try:
            await asyncio.to_thread(self._publish, held)
        except OSError as exc:
            await self.abort()
            raise _translate(exc) from exc
        self._finished = True

    def _discard(self) -> None:
        self._finished = True
        self._held = bytearray()
        if self._out is not None:
            os.close(self._out.fd)
            self._out = None
        self._temp.unlink(missing_ok=True)

    async def abort(self) -> None:
        # Synchronous on purpose: abort also runs while a request is being cancelled.
        self._discard()


class LocalStagedWriter:
    """Appends to ``staging/<key>``; ``sync`` is the point after which bytes may be promised."""

    def __init__(self, path: Path, offset: int) -> None:
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        # An earlier request may have written past what it acknowledged before dying.
        os.ftruncate(self._fd, offset)
        os.lseek(self._fd, offset, os.SEEK_SET)
        self._out = _Appender(self._fd, offset)

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        assert self._fd is not None, "writer is closed"
        try:
            await asyncio.to_thread(self._out.append, data)
        except OSError as exc:
            raise _translate(exc) from exc

    async def sync(self) -> int:
        assert self._fd is not None, "writer is closed"
        try:
            await asyncio.to_thread(os.fsync, self._fd)
        except OSError as exc:
            raise _translate(exc) from exc
        return self._out.size

    async def truncate(self, size: int) -> None:
        assert self._fd is not None, "writer is closed"
        os.ftruncate(self._fd, size)
        os.lseek(self._fd, size, os.SEEK_SET)
        self._out = _Appender(self._fd, size)

    async def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class LocalBlobStore:
    """The default backend. Layout: ``blobs/ab/cd/<key>``, ``tmp/<key>.part`` for
    one-shot writes and ``staging/<key>`` for resumable uploads (all on one filesystem)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blob_dir = root / "blobs"
        self.temp_dir = root / "tmp"
        self.staging_dir = root / "staging"
        #: Orphan blobs moved aside by the sweeper or fsck, deleted after the quarantine.
        self.quarantine_dir = root / "quarantine"
        #: The deployment identity shared with the catalog (see ``filebay.upkeep.identity``).
        self.deployment_file = root / DEPLOYMENT_FILE
        for folder in (self.blob_dir, self.temp_dir, self.staging_dir, self.quarantine_dir):
            folder.mkdir(parents=True, exist_ok=True)

    def _staged_path(self, key: str) -> Path:
        if not is_valid_id(key):
            raise BlobNotFound()
        return self.staging_dir / key

    async def create_staged(self, key: str) -> None:
        def create() -> None:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
            os.close(os.open(self._staged_path(key), flags, 0o600))
            _fsync_dir(self.staging_dir)

        try:
            await asyncio.to_thread(create)
        except OSError as exc:
            raise _translate(exc) from exc

    async def staged_size(self, key: str) -> int:
        try:
            return (await asyncio.to_thread(self._staged_path(key).stat)).st_size
        except OSError as exc:
            raise _translate(exc) from exc

    async def append_staged(self, key: str, offset: int) -> LocalStagedWriter:
        try:
            return await asyncio.to_thread(LocalStagedWriter, self._staged_path(key), offset)
        except OSError as exc:
            raise _translate(exc) from exc

    async def read_staged(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        async for chunk in self._read_path(self._staged_path(key), start, end):
            yield chunk

    async def publish_staged(self, key: str) -> None:
        staged, final = self._staged_path(key), self.path_for(key)

        def publish() -> None:
            fd = os.open(staged, os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            _rename_into(staged, final, self.blob_dir)
            _fsync_dir(self.staging_dir)

        try:
            await asyncio.to_thread(publish)
        except OSError as exc:
            raise _translate(exc) from exc

    async def delete_staged(self, key: str) -> None:
        try:
            await asyncio.to_thread(self._staged_path(key).unlink, missing_ok=True)
        except OSError as exc:
            raise _translate(exc) from exc

    async def iter_staged(self) -> AsyncIterator[BlobStat]:
        for item in await asyncio.to_thread(_scan_flat, self.staging_dir):
            yield item

    def path_for(self, key: str) -> Path:
        # Keys are generated hex ids; anything else is a programming error, not user input.
        if not is_blob_key(key):
            raise BlobNotFound()
        return self.blob_dir / key[:2] / key[2:4] / key

    async def open_writer(self, key: str) -> LocalBlobWriter:
        try:
            return LocalBlobWriter(self, key)
        except OSError as exc:
            raise _translate(exc) from exc

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        async for chunk in self._read_path(self.path_for(key), start, end):
            yield chunk

    async def _read_path(self, path: Path, start: int, end: int | None) -> AsyncIterator[bytes]:
        # Open, size and the first read in one thread hop; a small file needs no other.
        try:
            fd, end, chunk = await asyncio.to_thread(_open_and_read, path, start, end)
        except OSError as exc:
            raise _translate(exc) from exc
        try:
            pos = start + len(chunk)
            if chunk:
                yield chunk
            while chunk and pos < end:
                n = min(READ_CHUNK, end - pos)
                chunk = await asyncio.to_thread(os.pread, fd, n, pos)
                if not chunk:
                    break
                pos += len(chunk)
                yield chunk
        except OSError as exc:
            raise _translate(exc) from exc
        finally:
            os.close(fd)

    async def stat(self, key: str) -> BlobStat:
        try:
            return await asyncio.to_thread(_stat, key, self.path_for(key))
        except OSError as exc:
            raise _translate(exc) from exc

    async def delete(self, key: str) -> None:
        try:
            await asyncio.to_thread(self.path_for(key).unlink, missing_ok=True)
        except OSError as exc:
            raise _translate(exc) from exc

    async def ping(self) -> None:
        def check() -> None:
            probe = self.temp_dir / f".ping.{new_id()[:8]}"
            probe.write_bytes(b"ok")
            probe.unlink()

        try:
            await asyncio.to_thread(check)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                return  # full is not down: reads still work and uploads answer 507
            raise StorageUnavailable(f"blob store error: {exc.strerror or exc}") from exc

    async def iter_blobs(self) -> AsyncIterator[BlobStat]:
        def scan() -> list[BlobStat]:
            found = []
            for dirpath, _dirs, files in os.walk(self.blob_dir):
                for name in files:
                    if is_blob_key(name):
                        try:
                            found.append(_stat(name, Path(dirpath) / name))
                        except FileNotFoundError:
                            continue
            return found

        for item in await asyncio.to_thread(scan):
            yield item

    async def iter_temps(self) -> AsyncIterator[BlobStat]:
        def scan() -> list[BlobStat]:
            found = []
            for entry in os.scandir(self.temp_dir):
                try:
                    found.append(_stat(entry.name, Path(entry.path)))
                except FileNotFoundError:
                    continue
            return found

        for item in await asyncio.to_thread(scan):
            yield item

    async def remove_temp(self, key: str) -> None:
        if "/" in key or key in (".", ".."):
            return
        await asyncio.to_thread((self.temp_dir / key).unlink, missing_ok=True)

    # --- the deployment identity and the quarantine ---

    async def read_deployment(self) -> str | None:
        def read() -> str | None:
            try:
                return self.deployment_file.read_text().strip() or None
            except FileNotFoundError:
                return None

        try:
            return await asyncio.to_thread(read)
        except OSError as exc:
            raise _translate(exc) from exc

    async def write_deployment(self, value: str) -> str:
        def write() -> str:
            # Written whole to a temp name, then linked into place: the link fails when an
            # identity is there already (another process was first), and a crash leaves
            # either no identity or a whole one.
            temp = self.root / f"{DEPLOYMENT_FILE}.{new_id()[:12]}"
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, f"{value}\n".encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                with contextlib.suppress(FileExistsError):
                    os.link(temp, self.deployment_file)
            finally:
                temp.unlink(missing_ok=True)
            _fsync_dir(self.root)
            return self.deployment_file.read_text().strip()

        try:
            return await asyncio.to_thread(write)
        except OSError as exc:
            raise _translate(exc) from exc

    def _quarantined_path(self, key: str) -> Path:
        if not is_blob_key(key):
            raise BlobNotFound()
        return self.quarantine_dir / key

    async def quarantine(self, key: str) -> None:
        source, target = self.path_for(key), self._quarantined_path(key)

        def move() -> None:
            # The time of the move is the start of the quarantine: set before the rename, so
            # a crash between the two leaves a blob that merely looks young.
            try:
                os.utime(source)
                os.rename(source, target)
            except FileNotFoundError:
                return
            _fsync_dir(self.quarantine_dir)
            _fsync_dir(source.parent)

        try:
            await asyncio.to_thread(move)
        except OSError as exc:
            raise _translate(exc) from exc

    async def iter_quarantined(self) -> AsyncIterator[BlobStat]:
        for item in await asyncio.to_thread(_scan_flat, self.quarantine_dir):
            yield item

    async def restore_quarantined(self, key: str) -> None:
        source, target = self._quarantined_path(key), self.path_for(key)

        def move() -> None:
            try:
                _rename_into(source, target, self.blob_dir)
            except FileNotFoundError:
                return
            _fsync_dir(self.quarantine_dir)

        try:
            await asyncio.to_thread(move)
        except OSError as exc:
            raise _translate(exc) from exc

    async def delete_quarantined(self, key: str) -> None:
        try:
            await asyncio.to_thread(self._quarantined_path(key).unlink, missing_ok=True)
        except OSError as exc:
            raise _translate(exc) from exc
