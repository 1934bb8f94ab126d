"""filebay.transfer.multipart: a streaming multipart reader that refuses hostile bodies."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from filebay.errors import MalformedUpload
from filebay.transfer.multipart import (
    MAX_HEADER_BYTES,
    MAX_PARTS,
    Event,
    PartData,
    PartEnd,
    PartStart,
    iter_parts,
)

BOUNDARY = "----filebayBoundary7MA4YWxk"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


@dataclass(frozen=True)
class Part:
    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None


def encode(parts: Sequence[Part], boundary: str = BOUNDARY) -> bytes:
    out = bytearray()
    for part in parts:
        out += f"--{boundary}\r\n".encode()
        disposition = f'form-data; name="{part.name}"'
        if part.filename is not None:
            disposition += f'; filename="{part.filename}"'
        out += f"Content-Disposition: {disposition}\r\n".encode()
        if part.content_type is not None:
            out += f"Content-Type: {part.content_type}\r\n".encode()
        out += b"\r\n" + part.data + b"\r\n"
    out += f"--{boundary}--\r\nepilogue is ignored".encode()
    return bytes(out)


def expected_events(parts: Sequence[Part]) -> list[Event]:
    events: list[Event] = []
    for part in parts:
        events.append(PartStart(part.name, part.filename, part.content_type))
        if part.data:
            events.append(PartData(part.data))
        events.append(PartEnd())
    return events


async def _stream(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def normalise(events: Iterable[Event]) -> list[Event]:
    """Join consecutive data events: how a part's bytes are split depends on the chunking."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, PartData) and out and isinstance(out[-1], PartData):
            out[-1] = PartData(out[-1].data + event.data)
        elif not (isinstance(event, PartData) and not event.data):
            out.append(event)
    return out


def parse(chunks: Iterable[bytes], content_type: str | None = CONTENT_TYPE) -> list[Event]:
    async def collect() -> list[Event]:
        return [event async for event in iter_parts(content_type, _stream(chunks))]

    return normalise(asyncio.run(collect()))


def split(body: bytes, cuts: Iterable[int]) -> list[bytes]:
    points = [0, *sorted(set(cuts)), len(body)]
    return [body[a:b] for a, b in itertools.pairwise(points)]


SAMPLE = [
    Part("note", b"just a field"),
    Part("file", b"hello\r\n--not-the-boundary\r\n-", "hello.txt", "text/plain"),
    Part("file", b"", "empty.bin"),
    Part("file", "snowman ☃\r\n".encode(), "☃.txt", "text/plain; charset=utf-8"),
]


def test_a_form_becomes_part_events() -> None:
    assert parse([encode(SAMPLE)]) == expected_events(SAMPLE)


def test_every_two_chunk_split_gives_the_same_events() -> None:
    body = encode(SAMPLE)
    want = expected_events(SAMPLE)
    for cut in range(len(body) + 1):
        assert parse(split(body, [cut])) == want, cut


def test_byte_by_byte_gives_the_same_events() -> None:
    body = encode(SAMPLE)
    assert parse([body[i : i + 1] for i in range(len(body))]) == expected_events(SAMPLE)


def test_empty_chunks_are_skipped() -> None:
    body = encode(SAMPLE)
    assert parse([b"", body[:10], b"", body[10:], b""]) == expected_events(SAMPLE)


# Data made of the bytes that look most like a delimiter, so the parser's lookbehind is used.
tricky_data = st.lists(
    st.sampled_from([b"-", b"--", b"\r", b"\n", b"\r\n", b"x", BOUNDARY[:8].encode()]), max_size=30
).map(b"".join)
parts_strategy = st.lists(
    st.builds(
        Part,
        name=st.sampled_from(["file", "other"]),
        data=tricky_data | st.binary(max_size=200),
        filename=st.none() | st.sampled_from(["a.txt", "b c.bin", "ü.txt"]),
        content_type=st.none() | st.just("application/octet-stream"),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=150, deadline=None)
@given(parts=parts_strategy, data=st.data())
def test_events_do_not_depend_on_chunking(parts: list[Part], data: st.DataObject) -> None:
    body = encode(parts)
    if f"\r\n--{BOUNDARY}".encode() in b"".join(p.data for p in parts):
        return  # data that contains the delimiter is not that data
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=len(body)), max_size=12))
    assert parse(split(body, cuts)) == expected_events(parts)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/mixed; boundary=abc",
        "application/json",
        "text/plain; boundary=abc",
        "application/x-www-form-urlencoded",
        f"multipart/form-data; boundary={'b' * 201}",
    ],
)
def test_a_body_without_a_multipart_boundary_is_malformed(content_type: str | None) -> None:
    with pytest.raises(MalformedUpload):
        parse([encode(SAMPLE)], content_type)


@pytest.mark.parametrize(
    "content_type",
    [
        f'multipart/form-data; boundary="{BOUNDARY}"',
        f"Multipart/Form-Data; Boundary={BOUNDARY}",
        f"multipart/form-data; charset=utf-8; boundary={BOUNDARY}",
    ],
)
def test_content_type_spellings(content_type: str) -> None:
    assert parse([encode(SAMPLE)], content_type) == expected_events(SAMPLE)


def test_an_empty_body_is_malformed() -> None:
    with pytest.raises(MalformedUpload):
        parse([])


def test_every_truncation_before_the_closing_boundary_is_malformed() -> None:
    body = encode(SAMPLE)
    closing = body.index(f"--{BOUNDARY}--".encode()) + len(BOUNDARY) + 3
    for length in range(closing):
        with pytest.raises(MalformedUpload):
            parse([body[:length]])


def test_too_many_parts_are_refused_quickly() -> None:
    body = encode([Part("f", b"") for _ in range(10 * MAX_PARTS)])
    started = time.monotonic()
    with pytest.raises(MalformedUpload, match="parts"):
        parse([body])
    assert time.monotonic() - started < 2


def test_too_many_parts_are_refused_before_all_arrive() -> None:
    body = encode([Part("f", b"x") for _ in range(10_000)])
    chunks = split(body, range(0, len(body), 4096))
    seen = 0

    async def counting() -> AsyncIterator[bytes]:
        nonlocal seen
        for chunk in chunks:
            seen += 1
            yield chunk

    async def drain() -> None:
        async for _event in iter_parts(CONTENT_TYPE, counting()):
            pass

    with pytest.raises(MalformedUpload):
        asyncio.run(drain())
    assert seen < len(chunks) // 2


def test_exactly_max_parts_are_accepted() -> None:
    parts = [Part("f", b"") for _ in range(MAX_PARTS)]
    assert len([e for e in parse([encode(parts)]) if isinstance(e, PartStart)]) == MAX_PARTS


def test_one_oversized_part_header_line_is_malformed() -> None:
    big = Part("file", b"x", "a" * (MAX_HEADER_BYTES + 1))
    with pytest.raises(MalformedUpload):
        parse([encode([big])])


def _with_headers(extra: str) -> bytes:
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"\r\n'
    return f"{head}{extra}\r\ndata\r\n--{BOUNDARY}--\r\n".encode()


def test_many_header_lines_are_malformed() -> None:
    with pytest.raises(MalformedUpload):
        parse([_with_headers("".join(f"X-Pad-{i}: p\r\n" for i in range(200)))])


def test_part_headers_over_the_total_cap_are_malformed() -> None:
    # Few lines, each of a size the parser accepts, that add up to more than our cap.
    lines = "".join(f"X-Pad-{i}: {'p' * 4000}\r\n" for i in range(5))
    assert len(lines) > MAX_HEADER_BYTES
    with pytest.raises(MalformedUpload, match="headers"):
        parse([_with_headers(lines)])


def test_headers_of_ordinary_size_are_fine() -> None:
    part = Part("file", b"x", "a" * 3000 + ".txt", "text/plain")
    assert parse([encode([part])]) == expected_events([part])


@pytest.mark.parametrize(
    "headers",
    [
        b"Content-Type: text/plain\r\n",
        b'Content-Disposition: attachment; name="file"\r\n',
        b'Content-Disposition: form-data; filename="a.txt"\r\n',
    ],
)
def test_a_part_without_form_data_name_is_malformed(headers: bytes) -> None:
    body = f"--{BOUNDARY}\r\n".encode() + headers + f"\r\nx\r\n--{BOUNDARY}--\r\n".encode()
    with pytest.raises(MalformedUpload):
        parse([body])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.binary(max_size=40))
def test_hostile_bytes_are_parsed_or_malformed_and_nothing_else(junk: bytes, tail: bytes) -> None:
    for body in (junk, f"--{BOUNDARY}\r\n".encode() + junk + tail):
        with contextlib.suppress(MalformedUpload):
            parse([body])


@pytest.mark.parametrize(
    ("sent", "name"),
    [
        ("a%22b.txt", 'a"b.txt'),  # how Chrome, Firefox, curl and httpx send a quote
        ("two%0D%0Alines.txt", "two\r\nlines.txt"),  # CR LF: removed later by clean_name
        ("lower%0d%0a.txt", "lower\r\n.txt"),
        ("100%25.txt", "100%25.txt"),  # nothing else is escaped, so nothing else is read back
        ("%E2%98%83.txt", "%E2%98%83.txt"),
    ],
)
def test_the_form_encodings_escapes_in_a_file_name_are_read_back(sent: str, name: str) -> None:
    body = encode([Part("file", b"x", sent)])
    assert parse([body]) == [PartStart("file", name, None), PartData(b"x"), PartEnd()]
