"""A large streamed write to S3 holds about one part in memory, whatever the blob's size."""

from __future__ import annotations

import asyncio
import hashlib
import tracemalloc

from filebay.ids import new_id
from filebay.storage.s3.store import S3BlobStore
from tests.e2e.s3.moto import MIB, multipart_uploads, new_bucket, s3_client
from tests.harness.seaweed import SeaweedServer

SIZE = 200 * MIB
PART_SIZE = 8 * MIB
CHUNK = MIB  # what the upload path hands the writer (filebay.transfer.ingest.FLUSH_BYTES)


def test_a_200_mib_write_with_8_mib_parts_stays_under_64_mib(seaweed: SeaweedServer) -> None:
    bucket = new_bucket()
    chunk = bytes(range(256)) * (CHUNK // 256)
    expected = hashlib.sha256()

    async def scenario() -> tuple[int, int, str]:
        store = S3BlobStore(bucket, endpoint=seaweed.url, region="us-east-1", part_size=PART_SIZE)
        await store.start()
        try:
            await store.ensure_bucket()
            key = new_id()
            tracemalloc.start()
            try:
                writer = await store.open_writer(key)
                for _ in range(SIZE // CHUNK):
                    await writer.write(chunk)
                    expected.update(chunk)
                await writer.commit()
                _current, write_peak = tracemalloc.get_traced_memory()
                tracemalloc.reset_peak()
                digest = hashlib.sha256()
                async for piece in store.read(key):
                    digest.update(piece)
                _current, read_peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert (await store.stat(key)).size == SIZE
            return write_peak, read_peak, digest.hexdigest()
        finally:
            await store.close()

    write_peak, read_peak, digest = asyncio.run(scenario())
    assert digest == expected.hexdigest()
    # The buffer fills to one part plus a chunk, and the part is copied once to be sent.
    assert write_peak < 3 * PART_SIZE, f"write peak {write_peak / MIB:.1f} MiB"
    assert read_peak < 8 * MIB, f"read peak {read_peak / MIB:.1f} MiB"
    assert multipart_uploads(s3_client(seaweed.url), bucket) == []
