"""The byte layout of a stored (uncompressed) zip, computed from the entries alone.

Every header is a pure function of its entry and its offset, so the archive's size is
known before its first byte, the same entries always give the same bytes, and ``pieces``
maps any byte range to header bytes and file slices in O(log n) without producing the bytes
before it. ZIP64 records appear exactly where a size, an offset or the entry count no longer
fits the classic fields (4 GiB, 65,535 entries). Names are UTF-8 (general purpose flag bit 11).
"""

from __future__ import annotations

import bisect
import hashlib
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

_LOCAL = struct.Struct("<IHHHHHIIIHH")  # 30 bytes, then name and extra
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")  # 46 bytes, then name and extra
_END = struct.Struct("<IHHHHIIH")  # 22 bytes
_END64 = struct.Struct("<IQHHIIQQQQ")  # 56 bytes
_LOCATOR64 = struct.Struct("<IIQI")  # 20 bytes
_UT = struct.Struct("<HHBI")  # extended timestamp: mtime only (9 bytes)

_MAX16 = 0xFFFF
_MAX32 = 0xFFFFFFFF
_UTF8_NAMES = 1 << 11
_MADE_BY = (3 << 8) | 45  # Unix, spec 4.5: external attributes carry Unix modes
_DIR_ATTRS = (0o040755 << 16) | 0x10  # drwxr-xr-x + MS-DOS directory bit
_FILE_ATTRS = 0o100644 << 16  # -rw-r--r--
#: Changes whenever the bytes for the same entries would change (part of the ETag).
FORMAT = b"filebay-zip-1"


class ZipNameError(ValueError):
    """An entry name that must never go into an archive (absolute, ``..``, empty, NUL)."""


def check_name(name: str) -> None:
    """Zip-slip and garbage guard: a relative path of non-empty segments, none ``.``/``..``."""
    body = name[:-1] if name.endswith("/") else name
    parts = body.split("/")
    if not body or "\\" in name or "\x00" in name:
        raise ZipNameError(name)
    if any(part in ("", ".", "..") for part in parts):
        raise ZipNameError(name)


@dataclass(frozen=True, slots=True)
class ZipEntry:
    """One entry. A name ending in ``/`` is a folder (size 0); ``source`` says where a
    file's bytes are (a blob key) and ``sha256`` feeds the ETag."""

    name: str
    size: int = 0
    crc32: int = 0
    modified_at: datetime = datetime(1980, 1, 1, tzinfo=UTC)
    source: str | None = None
    sha256: str = ""

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/")


@dataclass(frozen=True, slots=True)
class Slice:
    """Bytes ``start``..``end`` (exclusive) of the file behind ``source``."""

    source: str
    start: int
    end: int


Piece = bytes | Slice


def _dos_time(moment: datetime) -> tuple[int, int]:
    m = moment.astimezone(UTC)
    if m.year < 1980:
        return 0, (0 << 9) | (1 << 5) | 1
    if m.year > 2107:
        return (23 << 11) | (59 << 5) | 29, (127 << 9) | (12 << 5) | 31
    time = (m.hour << 11) | (m.minute << 5) | (m.second // 2)
    date = ((m.year - 1980) << 9) | (m.month << 5) | m.day
    return time, date


def _unix_time(moment: datetime) -> int:
    return min(max(int(moment.timestamp()), 0), _MAX32)


class _Prepared:
    """What the headers of one entry need, computed once."""

    __slots__ = ("big", "date", "entry", "mtime", "name", "time")

    def __init__(self, entry: ZipEntry) -> None:
        check_name(entry.name)
        if entry.size < 0 or (entry.is_dir and entry.size):
            raise ValueError(f"bad size for {entry.name!r}")
        self.entry = entry
        self.name = entry.name.encode("utf-8")
        self.time, self.date = _dos_time(entry.modified_at)
        self.mtime = _unix_time(entry.modified_at)
        self.big = entry.size >= _MAX32

    def local_len(self) -> int:
        return _LOCAL.size + len(self.name) + _UT.size + (20 if self.big else 0)

    def local(self) -> bytes:
        e = self.entry
        size32 = _MAX32 if self.big else e.size
        extra = _UT.pack(0x5455, 5, 1, self.mtime)
        if self.big:
            extra += struct.pack("<HHQQ", 0x0001, 16, e.size, e.size)
        head = _LOCAL.pack(
            0x04034B50,
            45 if self.big else 20,
            _UTF8_NAMES,
            0,  # stored
            self.time,
            self.date,
            e.crc32,
            size32,
            size32,
            len(self.name),
            len(extra),
        )
        return head + self.name + extra

    def central_len(self, offset: int) -> int:
        return _CENTRAL.size + len(self.name) + _UT.size + self._zip64_len(offset)

    def _zip64_len(self, offset: int) -> int:
        fields = (16 if self.big else 0) + (8 if offset >= _MAX32 else 0)
        return 4 + fields if fields else 0

    def central(self, offset: int) -> bytes:
        e = self.entry
        far = offset >= _MAX32
        zip64 = b""
        if self.big or far:
            values = ([e.size, e.size] if self.big else []) + ([offset] if far else [])
            zip64 = struct.pack(f"<HH{len(values)}Q", 0x0001, 8 * len(values), *values)
        extra = zip64 + _UT.pack(0x5455, 5, 1, self.mtime)
        size32 = _MAX32 if self.big else e.size
        head = _CENTRAL.pack(
            0x02014B50,
            _MADE_BY,
            45 if zip64 else 20,
            _UTF8_NAMES,
            0,
            self.time,
            self.date,
            e.crc32,
            size32,
            size32,
            len(self.name),
            len(extra),
            0,  # comment
            0,  # disk
            0,  # internal attributes
            _DIR_ATTRS if e.is_dir else _FILE_ATTRS,
            _MAX32 if far else offset,
        )
        return head + self.name + extra


class ZipLayout:
    """Where every byte of the archive of ``entries`` (in this order) comes from."""

    def __init__(self, entries: Sequence[ZipEntry]) -> None:
        self._items = [_Prepared(e) for e in entries]
        self._local: list[int] = []  # offset of each local header
        at = 0
        for item in self._items:
            self._local.append(at)
            at += item.local_len() + item.entry.size
        self.central_offset = at
        self._central: list[int] = []  # offset of each central header
        for item, offset in zip(self._items, self._local, strict=True):
            self._central.append(at)
            at += item.central_len(offset)
        self.central_size = at - self.central_offset
        self._tail = self._end_records(at)
        self.size = at + len(self._tail)

    def __len__(self) -> int:
        return len(self._items)

    def _end_records(self, end64_offset: int) -> bytes:
        count, cd_size, cd_offset = len(self._items), self.central_size, self.central_offset
        zip64 = count >= _MAX16 or cd_size >= _MAX32 or cd_offset >= _MAX32
        out = b""
        if zip64:
            out += _END64.pack(0x06064B50, 44, _MADE_BY, 45, 0, 0, count, count, cd_size, cd_offset)
            out += _LOCATOR64.pack(0x07064B50, 0, end64_offset, 1)
        out += _END.pack(
            0x06054B50,
            0,
            0,
            min(count, _MAX16),
            min(count, _MAX16),
            min(cd_size, _MAX32),
            min(cd_offset, _MAX32),
            0,
        )
        return out

    def etag(self) -> str:
        """A strong ETag: the same entries with the same contents give the same bytes."""
        digest = hashlib.sha256(FORMAT)
        for item in self._items:
            e = item.entry
            digest.update(
                b"%s\0%d\0%d\0%d\0%d\0%s\n"
                % (
                    item.name,
                    e.size,
                    e.crc32,
                    item.mtime,
                    item.time << 16 | item.date,
                    e.sha256.encode(),
                )
            )
        return f'"zip-{digest.hexdigest()[:40]}"'

    def pieces(self, start: int = 0, end: int | None = None) -> Iterator[Piece]:
        """The archive's bytes ``start``..``end`` (exclusive) as header bytes and file
        slices, in order; nothing before ``start`` is produced."""
        end = self.size if end is None else min(end, self.size)
        if start >= end:
            return
        at = start
        if at < self.central_offset:
            i = bisect.bisect_right(self._local, at) - 1
            while i < len(self._items) and at < min(end, self.central_offset):
                item, base = self._items[i], self._local[i]
                head_end = base + item.local_len()
                if at < head_end:
                    yield item.local()[at - base : min(end, head_end) - base]
                    at = min(end, head_end)
                data_end = head_end + item.entry.size
                if at < end and at < data_end:
                    stop = min(end, data_end)
                    yield Slice(item.entry.source or "", at - head_end, stop - head_end)
                    at = stop
                i += 1
        tail_start = self.central_offset + self.central_size
        if at < end and at < tail_start:
            i = bisect.bisect_right(self._central, at) - 1
            while i < len(self._items) and at < min(end, tail_start):
                base, item = self._central[i], self._items[i]
                header = item.central(self._local[i])
                stop = min(end, base + len(header))
                yield header[at - base : stop - base]
                at = stop
                i += 1
        if at < end:
            yield self._tail[at - tail_start : end - tail_start]
