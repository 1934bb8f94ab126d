"""filebay.previews.thumbnails: made once per size and kept beside the file, "none" kept
too, one rendering for simultaneous requests, renderers killed on time, removed with the file."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from filebay.catalog.files import FileRecord
from filebay.errors import BadRequest, BlobNotFound, Unavailable
from filebay.ids import new_id
from filebay.previews import thumbnails
from filebay.previews.thumbnails import (
    Limits,
    NoThumbnail,
    Thumbnailer,
    check_size,
    etag,
    kind_of,
    read_thumbnail,
    remove_thumbnails,
    thumbnail_key,
)
from filebay.storage.local import LocalBlobStore
from tests.harness import media

LIMITS = Limits(
    max_pixels=50_000_000,
    timeout=10.0,
    memory_bytes=1024**3,
    max_input_bytes=64 * 1024 * 1024,
    concurrency=2,
)


class Counting(Thumbnailer):
    """A thumbnailer that counts the renderers it starts."""

    def __init__(self, limits: Limits = LIMITS, **kwargs: dict[str, str | None]) -> None:
        super().__init__(limits, **kwargs)
        self.runs = 0

    async def _run_child(self, kind: str, src: Path, dst: Path, size: int) -> bool:
        self.runs += 1
        return await super()._run_child(kind, src, dst, size)


async def stored(store: LocalBlobStore, data: bytes, content_type: str) -> FileRecord:
    key = new_id()
    writer = await store.open_writer(key)
    await writer.write(data)
    await writer.commit()
    now = datetime.now(UTC)
    digest = hashlib.sha256(data).hexdigest()
    return FileRecord(key, "alice", "f", len(data), content_type, digest, key, now, now)


def run(tmp_path: Path, scenario: Callable[[LocalBlobStore], Awaitable[None]]) -> None:
    asyncio.run(scenario(LocalBlobStore(tmp_path / "data")))


def test_a_thumbnail_is_made_once_and_kept_beside_the_file(tmp_path: Path) -> None:
    async def scenario(store: LocalBlobStore) -> None:
        maker = Counting()
        record = await stored(store, media.jpeg(800, 600), "image/jpeg")
        key = await maker.ensure(record, store, 256)
        assert key == f"{record.blob_key}.t256" == thumbnail_key(record.blob_key, 256)
        assert store.path_for(key).parent == store.path_for(record.blob_key).parent
        data = await read_thumbnail(store, key)
        assert media.format_of(data) == "WEBP" and media.size_of(data) == (256, 192)
        assert await maker.ensure(record, store, 256) == key
        assert maker.runs == 1  # the second answer came from the store
        assert media.size_of(await read_thumbnail(store, await maker.ensure(record, store, 64)))
        assert maker.runs == 2  # one per size

    run(tmp_path, scenario)


def test_simultaneous_requests_share_one_rendering(tmp_path: Path) -> None:
    async def scenario(store: LocalBlobStore) -> None:
        maker = Counting()
        record = await stored(store, media.png(500, 500), "image/png")
        keys = await asyncio.gather(*(maker.ensure(record, store, 64) for _ in range(5)))
        assert set(keys) == {thumbnail_key(record.blob_key, 64)} and maker.runs == 1

    run(tmp_path, scenario)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (media.truncated_png(), "image/png"),
        (media.decompression_bomb(), "image/png"),
        (media.png_header(30_000, 30_000), "image/png"),
        (media.random_bytes(), "image/jpeg"),
        (media.fake_pdf(), "application/pdf"),
        (media.random_bytes(), "video/mp4"),
    ],
    ids=["truncated", "bomb", "huge-header", "random-jpg", "not-a-pdf", "not-a-video"],
)
def test_a_bad_file_has_none_and_is_not_decoded_twice(
    tmp_path: Path, data: bytes, content_type: str
) -> None:
    async def scenario(store: LocalBlobStore) -> None:
        maker = Counting()
        record = await stored(store, data, content_type)
        start = time.monotonic()
        with pytest.raises(NoThumbnail):
            await maker.ensure(record, store, 256)
        assert time.monotonic() - start < 5
        # The empty "none" marker is kept, so the next request answers without a renderer.
        assert (await store.stat(thumbnail_key(record.blob_key, 256))).size == 0
        with pytest.raises(NoThumbnail):
            await maker.ensure(record, store, 256)
        assert maker.runs == 1

    run(tmp_path, scenario)


def test_a_none_marker_is_tried_again_after_a_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(store: LocalBlobStore) -> None:
        maker = Counting()
        record = await stored(store, media.png(50, 50), "image/png")
        key = thumbnail_key(record.blob_key, 64)
        writer = await store.open_writer(key)  # a "none" from an earlier, failed attempt
        await writer.commit()
        with pytest.raises(NoThumbnail):
            await maker.ensure(record, store, 64)
        assert maker.runs == 0
        monkeypatch.setattr(thumbnails, "RETRY_AFTER", timedelta(0))
        assert await maker.ensure(record, store, 64) == key and maker.runs == 1
        assert media.size_of(await read_thumbnail(store, key)) == (50, 50)

    run(tmp_path, scenario)


def test_a_renderer_that_overruns_is_killed(tmp_path: Path) -> None:
    async def scenario(store: LocalBlobStore) -> None:
        # Too short for Python even to start: the renderer is killed, not waited for.
        maker = Counting(replace(LIMITS, timeout=0.01))
        record = await stored(store, media.jpeg(), "image/jpeg")
        start = time.monotonic()
        with pytest.raises(NoThumbnail):
            await maker.ensure(record, store, 64)
        assert time.monotonic() - start < 3 and maker.runs == 1

    run(tmp_path, scenario)


def test_busy_slots_answer_unavailable_after_the_queue_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(store: LocalBlobStore) -> None:
        monkeypatch.setattr(thumbnails, "QUEUE_SECONDS", 0.1)
        maker = Counting(replace(LIMITS, concurrency=1))
        record = await stored(store, media.jpeg(), "image/jpeg")
        await maker._slots.acquire()  # the one slot is taken (a slow file elsewhere)
        with pytest.raises(Unavailable):
            await maker.ensure(record, store, 64)
        maker._slots.release()
        # Busy is not "none": nothing was kept, and the next request renders it.
        with pytest.raises(BlobNotFound):
            await store.stat(thumbnail_key(record.blob_key, 64))
        assert await maker.ensure(record, store, 64)

    run(tmp_path, scenario)


def test_pdf_and_video_need_their_tools(tmp_path: Path) -> None:
    async def scenario(store: LocalBlobStore) -> None:
        without = Counting(tools={"pdf": None, "video": None})
        with_tools = Counting()
        pdf = await stored(store, media.pdf(), "application/pdf")
        video = await stored(store, media.mp4(), "video/mp4")
        for record in (pdf, video):
            with pytest.raises(NoThumbnail):
                await without.ensure(record, store, 64)
            # No tool is not "none": nothing kept, so installing the tool later works.
            with pytest.raises(BlobNotFound):
                await store.stat(thumbnail_key(record.blob_key, 64))
            data = await read_thumbnail(store, await with_tools.ensure(record, store, 64))
            assert media.format_of(data) == "WEBP"
        assert without.runs == 0 and with_tools.runs == 2

    run(tmp_path, scenario)


def test_files_that_are_not_pictures_are_never_rendered(tmp_path: Path) -> None:
    async def scenario(store: LocalBlobStore) -> None:
        maker = Counting()
        svg = await stored(store, b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml")
        text = await stored(store, b"hello", "text/plain")
        for record in (svg, text):
            with pytest.raises(NoThumbnail):
                await maker.ensure(record, store, 256)
        assert maker.runs == 0

    run(tmp_path, scenario)


def test_large_pictures_are_not_read_past_the_input_cap(tmp_path: Path) -> None:
    async def scenario(store: LocalBlobStore) -> None:
        maker = Counting(replace(LIMITS, max_input_bytes=1000))
        record = await stored(store, media.jpeg(), "image/jpeg")
        assert record.size > 1000
        with pytest.raises(NoThumbnail):
            await maker.ensure(record, store, 64)
        assert maker.runs == 0

    run(tmp_path, scenario)


def test_remove_thumbnails_deletes_every_size(tmp_path: Path) -> None:
    async def scenario(store: LocalBlobStore) -> None:
        maker = Counting()
        record = await stored(store, media.png(), "image/png")
        keys = [await maker.ensure(record, store, size) for size in thumbnails.SIZES]
        await remove_thumbnails(store, record.blob_key)
        for key in keys:
            with pytest.raises(BlobNotFound):
                await store.stat(key)
        await store.stat(record.blob_key)  # the file itself is the caller's to delete
        await remove_thumbnails(store, record.blob_key)  # none left: fine

    run(tmp_path, scenario)


def test_sizes_kinds_and_etags() -> None:
    assert [check_size(size) for size in (64, 256, 1024)] == [64, 256, 1024]
    for bad in (0, 65, 512, 4096, -1):
        with pytest.raises(BadRequest):
            check_size(bad)
    assert kind_of("image/jpeg") == "image" and kind_of("IMAGE/PNG; x=y") == "image"
    assert kind_of("image/svg+xml") is None and kind_of("text/html") is None
    assert kind_of("application/pdf") == "pdf" and kind_of("video/webm") == "video"
    now = datetime.now(UTC)
    record = FileRecord("a" * 32, "u", "n", 1, "image/png", "b" * 64, "a" * 32, now, now)
    assert etag(record, 64) != etag(record, 256)
    assert etag(record, 64).startswith('"') and "b" * 64 in etag(record, 64)
