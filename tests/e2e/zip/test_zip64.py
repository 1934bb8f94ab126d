"""ZIP64 through a real server, without sending 5 GiB: a folder holding a 5 GiB file (a
sparse blob) and 66,000 empty files, whose records are written straight into the database.
The archive's length comes from HEAD; its first bytes and its whole tail (central directory
and ZIP64 end records) come from Range requests, and Python's zipfile reads every entry of
that, sizes and offsets past 4 GiB included."""

from __future__ import annotations

import io
import sqlite3
import uuid
import zipfile
import zlib
from datetime import UTC, datetime
from typing import Any

from tests.e2e.folders.support import Tree
from tests.harness import database

BIG = 5 * 1024**3
EMPTY = 66_000
EMPTY_CRC = 0


def zeros_crc(size: int) -> int:
    crc, chunk = 0, bytes(1 << 24)
    for _ in range(size // len(chunk)):
        crc = zlib.crc32(chunk, crc)
    return zlib.crc32(bytes(size % len(chunk)), crc)


def insert_files(portal: Tree, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    if portal.database_url is None:
        conn = sqlite3.connect(portal.data_dir / "filebay.db", timeout=30)
        marks = ", ".join("?" for _ in columns)
        with conn:
            conn.executemany(
                f"INSERT INTO files ({', '.join(columns)}) VALUES ({marks})",
                [tuple(r[c] for c in columns) for r in rows],
            )
        conn.close()
        return

    async def copy() -> None:
        conn = await database.asyncpg.connect(database._plain_dsn(portal.database_url))
        try:
            await conn.copy_records_to_table(
                "files", records=[tuple(r[c] for c in columns) for r in rows], columns=columns
            )
        finally:
            await conn.close()

    database.run_async(copy())


class Sparse(io.RawIOBase):
    """The archive as zipfile sees it: known spans, zeros elsewhere (never read here)."""

    def __init__(self, size: int, spans: dict[int, bytes]) -> None:
        self.size, self.spans, self.pos = size, spans, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = {0: offset, 1: self.pos + offset, 2: self.size + offset}[whence]
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer: Any) -> int:
        n = max(0, min(len(buffer), self.size - self.pos))
        out = bytearray(n)
        for at, data in self.spans.items():
            lo, hi = max(at, self.pos), min(at + len(data), self.pos + n)
            if lo < hi:
                out[lo - self.pos : hi - self.pos] = data[lo - at : hi - at]
        buffer[:n] = out
        self.pos += n
        return n


def test_a_zip_past_4_gib_and_65535_entries_is_zip64(portal: Tree) -> None:
    who = portal.user("zip64")
    owner = portal.http.get(f"{portal.auth}/api/me", headers=who).json()["username"]
    folder = portal.mkdir(who, "z64")
    now = datetime(2026, 6, 1, tzinfo=UTC)
    big_id = uuid.uuid4().hex
    blob = portal.blob_path(big_id)
    blob.parent.mkdir(parents=True, exist_ok=True)
    with blob.open("wb") as f:
        f.truncate(BIG)  # sparse: no disk used
    row = {
        "owner": owner,
        "size": 0,
        "content_type": "application/octet-stream",
        "sha256": "0" * 64,
        "created_at": now,
        "updated_at": now,
        "folder_id": folder["id"],
        "crc32": EMPTY_CRC,
    }
    rows = [
        {**row, "id": big_id, "blob_key": big_id, "name": "big.bin", "size": BIG,
         "crc32": zeros_crc(BIG)},
    ]  # fmt: skip
    for i in range(EMPTY):
        key = uuid.uuid4().hex
        rows.append({**row, "id": key, "blob_key": key, "name": f"e{i:05d}"})
    insert_files(portal, rows)

    url = f"{portal.download}/api/folders/{folder['id']}/zip"
    head = portal.http.head(url, headers=who)
    assert head.status_code == 200, head.text
    size = int(head.headers["content-length"])
    assert size > BIG
    first = portal.http.get(url, headers={**who, "Range": "bytes=0-4095"})
    assert first.status_code == 206
    # Every header after the big file's bytes (the empty files' and the central directory),
    # and a little of the big file's last bytes (zeros of the sparse blob).
    tail_at = size - 160 * EMPTY
    tail = portal.http.get(url, headers={**who, "Range": f"bytes={tail_at}-"})
    assert tail.status_code == 206
    assert tail.headers["content-range"] == f"bytes {tail_at}-{size - 1}/{size}"
    with zipfile.ZipFile(Sparse(size, {0: first.content, tail_at: tail.content})) as archive:
        infos = archive.infolist()
        assert len(infos) == 1 + 1 + EMPTY  # the folder, the big file, the empty ones
        by_name = {i.filename: i for i in infos}
        assert by_name["z64/big.bin"].file_size == BIG
        assert by_name["z64/e65999"].header_offset > 0xFFFFFFFF
        assert archive.read("z64/e65999") == b""
