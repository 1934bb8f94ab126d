"""Thumbnails of a file: made on first use, kept in the blob store beside the file, removed
with it.

- **Where**: one derived blob per size, ``<blob key>.t<size>`` (``filebay.storage.keys``), so
  every store keeps them without a new table, and the orphan scan keeps them exactly as long
  as the file has a record. A file without a thumbnail (not a picture, broken, hostile) gets
  an empty blob instead: the next request answers 404 without decoding it again, until
  ``RETRY_AFTER`` has passed.
- **How**: each thumbnail is rendered by a child process (``filebay.previews.render``) under
  an address-space, CPU and file-size cap, killed when it overruns
  FILEBAY_THUMBNAIL_TIMEOUT_SECONDS; at most FILEBAY_THUMBNAIL_CONCURRENCY run at once, so a
  hostile file costs one slot for a few seconds and the event loop never decodes a byte.
- **What**: Pillow for pictures (at most FILEBAY_THUMBNAIL_MAX_PIXELS pixels, refused from
  the header before decoding), a PDF's first page with ``pdftoppm`` and a video's first
  frame with ``ffmpeg`` when those are installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from filebay.catalog.files import FileRecord
from filebay.config import Settings
from filebay.errors import BadRequest, BlobNotFound, FilebayError, NotFound, Unavailable
from filebay.storage.base import BlobStore
from filebay.storage.keys import derived_key

log = logging.getLogger("filebay")

SIZES = (64, 256, 1024)
MEDIA_TYPE = "image/webp"
#: Bumped when renders change, so browsers drop thumbnails they cached.
VERSION = "1"
#: A file that had no thumbnail is tried again after this (a tool installed since, say).
RETRY_AFTER = timedelta(days=1)
#: How long a request waits for a free rendering slot before it answers 503.
QUEUE_SECONDS = 30.0
#: Run as a script, not imported: the server never loads the decoders itself.
RENDER_SCRIPT = Path(__file__).with_name("render.py")


class NoThumbnail(NotFound):
    code, detail = "no_thumbnail", "this file has no thumbnail"


def thumbnail_key(blob_key: str, size: int) -> str:
    """Where the thumbnail of ``size`` of the file blob ``blob_key`` is kept."""
    return derived_key(blob_key, f"t{size}")


def check_size(size: int) -> int:
    if size not in SIZES:
        raise BadRequest(f"size must be one of {', '.join(map(str, SIZES))}")
    return size


def etag(record: FileRecord, size: int) -> str:
    """Strong: the same bytes at the same size always give the same thumbnail."""
    return f'"t{VERSION}-{size}-{record.sha256}"'


async def remove_thumbnails(store: BlobStore, blob_key: str) -> None:
    """Delete every thumbnail of a file (after its record is gone; absent is fine)."""
    for size in SIZES:
        with contextlib.suppress(BlobNotFound):
            await store.delete(thumbnail_key(blob_key, size))


def kind_of(content_type: str) -> str | None:
    """Which renderer a file goes to, by its type: ``image``, ``pdf``, ``video`` or none."""
    media = content_type.split(";")[0].strip().lower()
    if media == "application/pdf":
        return "pdf"
    if media.startswith("video/"):
        return "video"
    # SVG is a document, not a picture: never rendered on the server.
    if media.startswith("image/") and "svg" not in media:
        return "image"
    return None


@dataclass(frozen=True, slots=True)
class Limits:
    max_pixels: int
    timeout: float
    memory_bytes: int
    max_input_bytes: int
    concurrency: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            max_pixels=settings.thumbnail_max_pixels,
            timeout=settings.thumbnail_timeout_seconds,
            memory_bytes=settings.thumbnail_memory_bytes,
            max_input_bytes=settings.thumbnail_max_input_bytes,
            concurrency=settings.thumbnail_concurrency,
        )


class Thumbnailer:
    """Finds or makes thumbnails; one per process (it holds the rendering slots)."""

    def __init__(self, limits: Limits, tools: dict[str, str | None] | None = None) -> None:
        self.limits = limits
        # The external renderers, found once: without one, those files have no thumbnail.
        self.tools = tools if tools is not None else _find_tools()
        self._slots = asyncio.Semaphore(limits.concurrency)
        self._making: dict[str, asyncio.Task[bool]] = {}

    @classmethod
    def of(cls, settings: Settings) -> Thumbnailer:
        return cls(Limits.of(settings))

    def renders(self, kind: str | None) -> bool:
        return kind == "image" or (kind in self.tools and self.tools[kind] is not None)

    async def ensure(self, record: FileRecord, store: BlobStore, size: int) -> str:
        """The key of ``record``'s thumbnail of ``size``, made now if need be; ``NoThumbnail``
        when it has none, ``Unavailable`` when every rendering slot stays busy."""
        check_size(size)
        kind = kind_of(record.content_type)
        if not self.renders(kind) or record.size == 0:
            raise NoThumbnail()
        key = thumbnail_key(record.blob_key, size)
        try:
            kept = await store.stat(key)
        except BlobNotFound:
            kept = None
        if kept is not None and kept.size > 0:
            return key
        if kept is not None and datetime.now(UTC) - kept.modified_at < RETRY_AFTER:
            raise NoThumbnail()
        # One rendering per thumbnail, however many requests ask for it at once; shielded,
        # so a client that goes away does not waste the work the others wait for.
        task = self._making.get(key)
        if task is None:
            task = asyncio.ensure_future(self._make(record, store, key, kind or "", size))
            self._making[key] = task
            task.add_done_callback(self._done)
        if not await asyncio.shield(task):
            raise NoThumbnail()
        return key

    def _done(self, task: asyncio.Task[bool]) -> None:
        for key, making in list(self._making.items()):
            if making is task:
                del self._making[key]
        if not task.cancelled():
            task.exception()  # retrieved: every waiter may have gone away

    async def _make(
        self, record: FileRecord, store: BlobStore, key: str, kind: str, size: int
    ) -> bool:
        try:
            await asyncio.wait_for(self._slots.acquire(), QUEUE_SECONDS)
        except TimeoutError:
            raise Unavailable("thumbnails are busy; try again") from None
        try:
            made = await self._render(record, store, kind, size)
        finally:
            self._slots.release()
        await _keep(store, key, made or b"")
        return made is not None

    async def _render(
        self, record: FileRecord, store: BlobStore, kind: str, size: int
    ) -> bytes | None:
        limit = self.limits.max_input_bytes
        # A video's first frame is near its start (in a streamable file): a large one is
        # read only that far. Other kinds need the whole file.
        if record.size > limit and kind != "video":
            return None
        work = await asyncio.to_thread(tempfile.mkdtemp, prefix="filebay-thumb-")
        try:
            src, dst = Path(work) / "source", Path(work) / "thumb.webp"
            await _spool(store, record.blob_key, src, min(record.size, limit))
            if not await self._run_child(kind, src, dst, size):
                return None
            return await asyncio.to_thread(dst.read_bytes)
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)

    async def _run_child(self, kind: str, src: Path, dst: Path, size: int) -> bool:
        limits = self.limits
        args = [kind, str(src), str(dst), str(size), str(limits.max_pixels)]
        args += [str(limits.memory_bytes), str(limits.timeout), self.tools.get(kind) or ""]
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            str(RENDER_SCRIPT),
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            # Its own process group: a timeout kills pdftoppm/ffmpeg with it.
            start_new_session=True,
        )
        try:
            _, err = await asyncio.wait_for(child.communicate(), limits.timeout)
        except TimeoutError:
            log.info("thumbnail: renderer killed after %s s (%s)", limits.timeout, kind)
            return False
        finally:
            if child.returncode is None:
                _kill_group(child.pid)
                await child.wait()
        if child.returncode != 0:
            log.info("thumbnail: none (%s): %s", kind, err.decode(errors="replace")[-300:].strip())
        return child.returncode == 0


async def read_thumbnail(store: BlobStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.read(key)])


async def _spool(store: BlobStore, blob_key: str, path: Path, length: int) -> None:
    """The first ``length`` bytes of a blob into a private file for the renderer."""
    out = await asyncio.to_thread(open, path, "xb")
    try:
        async for chunk in store.read(blob_key, 0, length):
            await asyncio.to_thread(out.write, chunk)
    finally:
        await asyncio.to_thread(out.close)


async def _keep(store: BlobStore, key: str, data: bytes) -> None:
    """Store a thumbnail (or the empty "none" marker). Failing to keep it is not worth an
    error: the next request renders it again."""
    try:
        writer = await store.open_writer(key)
        try:
            await writer.write(data)
            await writer.commit()
        except BaseException:
            await writer.abort()
            raise
    except FilebayError as exc:
        log.warning("thumbnail %s not kept: %s", key, exc.detail)
    except OSError as exc:  # two processes writing the same thumbnail at once
        log.warning("thumbnail %s not kept: %s", key, exc)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _find_tools() -> dict[str, str | None]:
    return {"pdf": shutil.which("pdftoppm"), "video": shutil.which("ffmpeg")}
