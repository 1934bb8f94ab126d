"""A streaming multipart/form-data reader: parts come out as events, bytes are never spooled.

python-multipart's parser is push-based and calls back synchronously; like Starlette we
collect the callbacks' events during ``parser.write`` and act on them afterwards, because
writing to the blob store is async.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from filebay.errors import MalformedUpload

# Browsers (the HTML standard's form encoding), curl since 7.81 and httpx write a file name's
# '"', CR and LF as %22, %0D and %0A inside filename="…"; nothing else is escaped, so these
# three, and only these, are read back (a name with a literal "%22" is the rarer case).
_FORM_ESCAPES = re.compile(r"%(22|0[dD]|0[aA])")
MAX_PARTS = 1000
MAX_HEADER_BYTES = 16 * 1024
MAX_FIELD_BYTES = 64 * 1024


@dataclass(slots=True)
class PartStart:
    name: str
    filename: str | None
    content_type: str | None


@dataclass(slots=True)
class PartData:
    data: bytes


@dataclass(slots=True)
class PartEnd:
    pass


Event = PartStart | PartData | PartEnd


@dataclass(slots=True)
class _Collector:
    events: list[Event] = field(default_factory=list)
    headers: dict[bytes, bytes] = field(default_factory=dict)
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    header_bytes: int = 0
    parts: int = 0
    ended: bool = False

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise MalformedUpload(f"more than {MAX_PARTS} parts")
        self.headers = {}
        self.header_bytes = 0

    def _count(self, n: int) -> None:
        self.header_bytes += n
        if self.header_bytes > MAX_HEADER_BYTES:
            raise MalformedUpload("part headers too large")

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count(end - start)
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count(end - start)
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[bytes(self.header_field).lower()] = bytes(self.header_value)
        self.header_field.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        disposition, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        if disposition != b"form-data" or b"name" not in options:
            raise MalformedUpload("part without Content-Disposition: form-data; name=…")
        name = options[b"name"].decode("utf-8", "replace")
        raw_filename = options.get(b"filename")
        filename = None
        if raw_filename is not None:
            filename = _FORM_ESCAPES.sub(
                lambda m: chr(int(m.group(1), 16)), raw_filename.decode("utf-8", "replace")
            )
        ctype = self.headers.get(b"content-type")
        self.events.append(
            PartStart(name, filename, ctype.decode("latin-1") if ctype is not None else None)
        )

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self.events.append(PartData(data[start:end]))

    def on_part_end(self) -> None:
        self.events.append(PartEnd())

    def on_end(self) -> None:
        self.ended = True


def boundary_of(content_type: str | None) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type, or ``MalformedUpload``."""
    ctype, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary or len(boundary) > 200:
        raise MalformedUpload("expected multipart/form-data with a boundary")
    return boundary


async def iter_parts(content_type: str | None, body: AsyncIterator[bytes]) -> AsyncIterator[Event]:
    """Turn a request body into part events, streaming. Raises ``MalformedUpload``."""
    collector = _Collector()
    parser = MultipartParser(boundary_of(content_type), collector.callbacks())  # type: ignore[arg-type]
    async for chunk in body:
        if not chunk:
            continue
        try:
            parser.write(chunk)
        except MultipartParseError as exc:
            raise MalformedUpload() from exc
        if collector.events:
            events, collector.events = collector.events, []
            for event in events:
                yield event
        if collector.ended:
            break
    if not collector.ended:
        # A body that stops before the closing boundary is truncated, not a complete form.
        raise MalformedUpload("multipart body ended before the closing boundary")
