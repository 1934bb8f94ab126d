"""filebay.archive.layout: the zip bytes from the entries alone, read back by zipfile, and
any range equal to the same slice of the whole (property test)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from filebay.archive.layout import Slice, ZipEntry, ZipLayout, ZipNameError

WHEN = datetime(2026, 5, 17, 10, 30, 44, tzinfo=UTC)


def file_entry(name: str, data: bytes, when: datetime = WHEN) -> ZipEntry:
    return ZipEntry(name, len(data), zlib.crc32(data), when, source=name, sha256=name)


def render(layout: ZipLayout, blobs: dict[str, bytes], start: int = 0, end: int | None = None):
    out = bytearray()
    for piece in layout.pieces(start, end):
        out += blobs[piece.source][piece.start : piece.end] if isinstance(piece, Slice) else piece
    return bytes(out)


def sample() -> tuple[list[ZipEntry], dict[str, bytes]]:
    blobs = {
        "docs/": b"",
        "docs/empty/": b"",
        "docs/été.txt": "h\u00e9".encode() * 300,
        "docs/zero.bin": b"",
        "日本語.md": b"# title\n",
    }
    entries = [
        ZipEntry(n, modified_at=WHEN) if n.endswith("/") else file_entry(n, d)
        for n, d in blobs.items()
    ]
    return entries, blobs


def test_zipfile_reads_every_entry_with_its_name_bytes_and_time() -> None:
    entries, blobs = sample()
    layout = ZipLayout(entries)
    body = render(layout, blobs)
    assert len(body) == layout.size
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        infos = archive.infolist()
        assert [i.filename for i in infos] == list(blobs)
        for info in infos:
            assert info.flag_bits & 0x800  # UTF-8 names
            assert info.compress_type == zipfile.ZIP_STORED
            assert info.date_time == (2026, 5, 17, 10, 30, 44)
            assert archive.read(info) == blobs[info.filename]
        assert infos[1].is_dir()


def test_same_entries_same_bytes_and_etag_and_a_change_changes_the_etag() -> None:
    entries, blobs = sample()
    a, b = ZipLayout(entries), ZipLayout(list(entries))
    assert render(a, blobs) == render(b, blobs)
    assert a.etag() == b.etag()
    changed = [*entries[:-1], file_entry("日本語.md", b"# other\n")]
    assert ZipLayout(changed).etag() != a.etag()


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a/../b", "a//b", "", "/", "a\\b", "."])
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(ZipNameError):
        ZipLayout([ZipEntry(name)])


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_range_is_the_same_slice_of_the_whole(data: st.DataObject) -> None:
    sizes = data.draw(st.lists(st.integers(0, 300), min_size=0, max_size=6))
    blobs = {f"d/f{i}": bytes([i]) * size for i, size in enumerate(sizes)}
    entries = [ZipEntry("d/", modified_at=WHEN)] + [file_entry(n, b) for n, b in blobs.items()]
    layout = ZipLayout(entries)
    whole = render(layout, blobs)
    start = data.draw(st.integers(0, layout.size))
    end = data.draw(st.integers(start, layout.size + 5))
    assert render(layout, blobs, start, end) == whole[start:end]


def test_past_65535_entries_the_archive_is_zip64() -> None:
    count = 70_000
    entries = [ZipEntry(f"e{i:05d}", 0, 0, WHEN, source="z") for i in range(count)]
    layout = ZipLayout(entries)
    body = render(layout, {"z": b""})
    assert body[-22 - 20 - 56 : -22 - 20][:4] == struct.pack("<I", 0x06064B50)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        names = archive.namelist()
    assert len(names) == count and names[-1] == "e69999"


class Zeros:
    """A file of zeros of any size, without the memory: slices come from one buffer."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __getitem__(self, span: slice) -> bytes:
        return bytes(span.stop - span.start)


def test_past_4_gib_sizes_and_offsets_are_zip64_and_zipfile_finds_the_last_entry() -> None:
    big = 5 * 1024**3
    crc = 0
    chunk = bytes(1 << 24)
    for _ in range(big // len(chunk)):
        crc = zlib.crc32(chunk, crc)
    entries = [
        ZipEntry("big.bin", big, crc, WHEN, source="big"),
        file_entry("after.txt", b"tail bytes"),
    ]
    layout = ZipLayout(entries)
    assert layout.size > big
    # Everything but the big file's bytes: its headers and the central directory.
    head = render(layout, {"big": Zeros(big)}, 0, 200)
    tail_start = layout.central_offset - 200
    tail = render(layout, {"big": Zeros(big), "after.txt": b"tail bytes"}, tail_start)
    sparse = SparseFile(layout.size, {0: head, tail_start: tail})
    with zipfile.ZipFile(sparse) as archive:
        big_info, after = archive.infolist()
        assert (big_info.file_size, big_info.CRC, big_info.header_offset) == (big, crc, 0)
        assert after.header_offset > 0xFFFFFFFF
        assert archive.read("after.txt") == b"tail bytes"


class SparseFile(io.RawIOBase):
    """A seekable file of ``size`` bytes that holds only some known spans (zeros elsewhere)."""

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

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = max(0, min(len(buffer), self.size - self.pos))
        out = bytearray(n)
        for at, data in self.spans.items():
            lo, hi = max(at, self.pos), min(at + len(data), self.pos + n)
            if lo < hi:
                out[lo - self.pos : hi - self.pos] = data[lo - at : hi - at]
        buffer[:n] = out
        self.pos += n
        return n


def test_a_range_touches_no_file_before_it() -> None:
    blobs = {f"f{i}": bytes([i]) * 1000 for i in range(50)}
    layout = ZipLayout([file_entry(n, b) for n, b in blobs.items()])
    whole = render(layout, blobs)
    at = whole.index(b"f40") + 3  # inside the 41st entry's header
    sources = [p.source for p in layout.pieces(at) if isinstance(p, Slice)]
    assert sources == [f"f{i}" for i in range(40, 50)]
