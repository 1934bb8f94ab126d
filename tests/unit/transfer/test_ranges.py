"""filebay.transfer.ranges: Range, If-None-Match and If-Range as RFC 9110 defines them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from filebay.errors import RangeNotSatisfiable
from filebay.transfer.ranges import (
    http_date,
    if_range_allows,
    not_modified,
    parse_range,
    precondition_failed,
)

sizes = st.integers(min_value=0, max_value=10**12)
positions = st.integers(min_value=0, max_value=10**12 + 10)


@given(size=sizes, first=positions, last=st.none() | positions)
@example(size=0, first=0, last=None)
@example(size=1, first=0, last=0)
@example(size=10, first=9, last=100)
def test_first_last_range_follows_rfc_9110(size: int, first: int, last: int | None) -> None:
    header = f"bytes={first}-{'' if last is None else last}"
    if last is not None and last < first:
        assert parse_range(header, size) is None  # invalid: the header is ignored
    elif first >= size:
        with pytest.raises(RangeNotSatisfiable) as info:
            parse_range(header, size)
        assert info.value.size == size
    else:
        span = parse_range(header, size)
        assert span is not None
        start, end = span
        assert 0 <= start < end <= size
        assert start == first
        assert end == (size if last is None else min(last + 1, size))


@given(size=sizes, suffix=positions)
@example(size=0, suffix=0)
@example(size=0, suffix=5)
@example(size=5, suffix=0)
@example(size=5, suffix=500)
def test_suffix_range_is_the_last_bytes(size: int, suffix: int) -> None:
    header = f"bytes=-{suffix}"
    if suffix == 0:
        with pytest.raises(RangeNotSatisfiable) as info:
            parse_range(header, size)
        assert info.value.size == size
    elif size == 0:
        # Satisfiable by RFC 9110 §14.1.1, but a 206 cannot describe zero bytes: send it all.
        assert parse_range(header, size) is None
    else:
        assert parse_range(header, size) == (max(0, size - suffix), size)


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-0", 10, (0, 1)),
        ("bytes=0-", 10, (0, 10)),
        ("bytes=9-", 10, (9, 10)),
        ("bytes=-1", 10, (9, 10)),
        ("bytes=-10", 10, (0, 10)),
        ("bytes=2-5", 10, (2, 6)),
        ("Bytes=2-5", 10, (2, 6)),
        ("bytes=0-99999999999999999999999", 10, (0, 10)),
    ],
)
def test_single_ranges(header: str, size: int, expected: tuple[int, int]) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "bytes=5-3",
        "bytes=0-1,3-4",
        "bytes=0-1, -2",
        "items=0-1",
        "bytes",
        "bytes=",
        "bytes=-",
        "bytes=abc",
        "bytes=1",
        "bytes=--1",
        "bytes=+1-2",
        "bytes=1-+2",
        "bytes=0x1-2",
        "bytes=1.5-2",
        "bytes=\u0661-\u0662",  # Arabic-Indic digits are digits to str.isdigit, not to HTTP
        "bytes=\u00b2-",
        "bytes=0-" + "9" * 2000,  # over the header length cap
    ],
)
def test_headers_not_served_as_one_range_are_ignored(header: str | None) -> None:
    assert parse_range(header, 100) is None


def test_unsatisfiable_ranges_carry_the_size() -> None:
    for header, size in [("bytes=10-", 10), ("bytes=10-20", 10), ("bytes=0-", 0), ("bytes=-0", 7)]:
        with pytest.raises(RangeNotSatisfiable) as info:
            parse_range(header, size)
        assert info.value.size == size
        assert info.value.status == 416


@given(header=st.text(max_size=60), size=st.integers(min_value=0, max_value=1000))
@example(header="bytes=0-", size=0)
def test_any_header_gives_a_range_inside_the_file_or_none_or_416(header: str, size: int) -> None:
    try:
        span = parse_range(header, size)
    except RangeNotSatisfiable as exc:
        assert exc.size == size
        return
    if span is not None:
        start, end = span
        assert 0 <= start < end <= size


ETAG = '"' + "ab" * 32 + '"'
MODIFIED = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        (ETAG, True),
        (f"W/{ETAG}", True),
        (f'"other", {ETAG}', True),
        (f'"other",W/{ETAG}', True),
        ("*", True),
        (" * ", True),
        ('"other"', False),
        (ETAG.strip('"'), False),
        (ETAG[:-2] + '"', False),
    ],
)
def test_not_modified_uses_weak_comparison(header: str | None, expected: bool) -> None:
    assert not_modified(header, ETAG) is expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, True),
        ("", True),
        (ETAG, True),
        (f"W/{ETAG}", False),  # If-Range needs a strong match
        ('"other"', False),
        ("Mon, 06 May 2024 07:08:09 GMT", True),
        ("Mon, 06 May 2024 07:08:10 GMT", False),
        ("Mon, 06 May 2024 07:08:09 -0000", False),
        ("yesterday", False),
        ("Mon, 01 Jan 99999 00:00:00 GMT", False),
        ("Mon, 01 Jan 2024 99999999999999999999:00:00 GMT", False),
        ("1 Jan 2024 00:00:00 +9999999999999999999", False),
    ],
)
def test_if_range(header: str | None, expected: bool) -> None:
    assert if_range_allows(header, ETAG, MODIFIED) is expected


@given(st.text(max_size=80))
@example("Mon, 01 Jan 2024 99999999999999999999:00:00 GMT")
def test_if_range_never_raises(header: str) -> None:
    assert isinstance(if_range_allows(header, ETAG, MODIFIED), bool)


def test_http_date_is_imf_fixdate_in_gmt() -> None:
    assert http_date(MODIFIED) == "Mon, 06 May 2024 07:08:09 GMT"
    # What we send as Last-Modified is what If-Range accepts back.
    assert if_range_allows(http_date(MODIFIED), ETAG, MODIFIED)


@pytest.mark.parametrize(
    ("if_match", "since", "failed"),
    [
        (None, None, False),
        (ETAG, None, False),
        (f'"other", {ETAG}', None, False),
        ("*", None, False),
        ('"other"', None, True),
        (f"W/{ETAG}", None, True),  # If-Match needs a strong match
        (None, "Mon, 06 May 2024 07:08:09 GMT", False),  # not modified since: go on
        (None, "Tue, 07 May 2024 00:00:00 GMT", False),
        (None, "Mon, 06 May 2024 07:08:08 GMT", True),  # modified after that moment
        (None, "yesterday", False),  # not a date: ignored
        (None, "Mon, 06 May 2024 07:08:08 -0000", False),  # no zone: not an HTTP date
        (ETAG, "Sun, 01 Jan 2023 00:00:00 GMT", False),  # If-Match wins over the date
    ],
)
def test_preconditions(if_match: str | None, since: str | None, failed: bool) -> None:
    assert precondition_failed(if_match, since, ETAG, MODIFIED) is failed


@given(st.text(max_size=80), st.text(max_size=80))
def test_preconditions_never_raise(if_match: str, since: str) -> None:
    assert isinstance(precondition_failed(if_match or None, since or None, ETAG, MODIFIED), bool)
