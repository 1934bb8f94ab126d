"""filebay.catalog.cursor: opaque keyset cursors that decode only into what we encoded."""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from filebay.catalog.cursor import Cursor, CursorValue, decode_cursor, encode_cursor
from filebay.catalog.files import SortKey
from filebay.errors import InvalidCursor
from filebay.ids import new_id

ids = st.text(st.sampled_from("0123456789abcdef"), min_size=32, max_size=32)
# Stored names: cleaned, so never NUL or other control characters, at most 255 bytes.
names = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=120)
times = st.datetimes(
    min_value=datetime(2, 1, 1),
    max_value=datetime(9998, 12, 31),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]),
)
sizes = st.integers(min_value=0, max_value=2**63 - 1)


def value_for(sort: SortKey) -> st.SearchStrategy[CursorValue]:
    if sort.column == "created_at":
        return times
    if sort.column == "size":
        return sizes
    return names


@st.composite
def cursors(draw: st.DrawFn) -> Cursor:
    sort = draw(st.sampled_from(list(SortKey)))
    return Cursor(sort, draw(value_for(sort)), draw(ids))


def raw_token(payload: object) -> str:
    """A token built by hand, as an attacker could."""
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@given(cursors())
def test_decode_inverts_encode(cursor: Cursor) -> None:
    token = encode_cursor(cursor)
    assert token.isascii() and "=" not in token
    assert decode_cursor(token, cursor.sort) == cursor


@given(cursors(), st.sampled_from(list(SortKey)))
def test_cursor_of_another_sort_is_invalid(cursor: Cursor, other: SortKey) -> None:
    token = encode_cursor(cursor)
    if other == cursor.sort:
        assert decode_cursor(token, other) == cursor
    else:
        with pytest.raises(InvalidCursor):
            decode_cursor(token, other)


@given(st.text(max_size=300), st.sampled_from(list(SortKey)))
@example("", SortKey.name)
@example("=", SortKey.name)
@example("é", SortKey.size)
@example("\ud800", SortKey.size)
@example("W10", SortKey.name)  # "[]"
@example("bnVsbA", SortKey.name)  # "null"
@example("A" * 5000, SortKey.name)
def test_garbage_tokens_are_invalid_cursors_and_nothing_else(token: str, sort: SortKey) -> None:
    with contextlib.suppress(InvalidCursor):
        decode_cursor(token, sort)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=12,
)


@given(st.sampled_from(list(SortKey)), json_values, json_values)
@example(SortKey.size, 2**70, new_id())
@example(SortKey.size, -1, new_id())
@example(SortKey.size, True, new_id())
@example(SortKey.size, 1.0, new_id())
@example(SortKey.created_at, {"t": "2024-01-01T00:00:00"}, new_id())
@example(SortKey.created_at, {"t": 5}, new_id())
@example(SortKey.created_at, {"t": []}, new_id())
@example(SortKey.created_at, {"t": "0001-01-01T00:00:00+05:30"}, new_id())
@example(SortKey.name, "x\x00y", new_id())
@example(SortKey.name, "x", "not-an-id\x00")
@example(SortKey.name, "x", 5)
@example(SortKey.name, "\ud800", new_id())
@example(SortKey.name, "a\udfffb", new_id())
def test_hand_made_cursors_decode_only_to_well_typed_values(
    sort: SortKey, value: object, last_id: object
) -> None:
    for payload in ([sort.value, value, last_id], [sort.value, value], value):
        try:
            cursor = decode_cursor(raw_token(payload), sort)
        except InvalidCursor:
            continue
        # Whatever decodes is something the database can bind without an error.
        assert isinstance(cursor.last_id, str) and "\x00" not in cursor.last_id
        if sort.column == "size":
            assert type(cursor.value) is int and 0 <= cursor.value < 2**63
        elif sort.column == "created_at":
            assert isinstance(cursor.value, datetime) and cursor.value.tzinfo == UTC
        else:
            assert isinstance(cursor.value, str) and "\x00" not in cursor.value
            cursor.value.encode("utf-8")  # a lone surrogate cannot be bound (SQLite: 500)


@given(st.binary(max_size=400), st.sampled_from(list(SortKey)))
@example(b'["name", "\\ud800", "' + new_id().encode() + b'"]', SortKey.name)
@example(b'{"a": 1, "b": 2, "c": 3}', SortKey.name)
@example(b'"abc"', SortKey.name)
def test_arbitrary_bytes_decode_to_a_bindable_cursor_or_are_invalid(
    raw: bytes, sort: SortKey
) -> None:
    token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    try:
        cursor = decode_cursor(token, sort)
    except InvalidCursor:
        return
    assert cursor.sort == sort and isinstance(cursor.last_id, str)
    if isinstance(cursor.value, str):
        cursor.value.encode("utf-8")
        assert "\x00" not in cursor.value


def test_a_lone_surrogate_is_an_invalid_cursor() -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(raw_token(["name", "\ud800", new_id()]), SortKey.name)
    with pytest.raises(InvalidCursor):
        decode_cursor(raw_token(["-name", "x\udc80y", new_id()]), SortKey.name_desc)


@pytest.mark.parametrize(
    ("sort", "value"),
    [
        (SortKey.size, 2**63),
        (SortKey.size, -1),
        (SortKey.size, True),
        (SortKey.name, "nul\x00inside"),
        (SortKey.created_at, {"t": "2024-01-01T00:00:00"}),
        (SortKey.created_at, {"t": "0001-01-01T00:00:00+05:30"}),
        (SortKey.created_at, {"t": "9999-12-31T23:59:00-05:00"}),
    ],
)
def test_values_a_database_cannot_bind_are_invalid(sort: SortKey, value: object) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(raw_token([sort.value, value, new_id()]), sort)


def test_last_id_must_be_an_id() -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(raw_token(["name", "x", "zz\x00"]), SortKey.name)
    with pytest.raises(InvalidCursor):
        decode_cursor(raw_token(["name", "x", 5]), SortKey.name)
