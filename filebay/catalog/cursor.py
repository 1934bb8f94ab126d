"""Opaque keyset cursors: the sort key, its value and the id of the last row on a page."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from filebay.catalog.files import SortKey
from filebay.errors import InvalidCursor
from filebay.ids import is_valid_id

CursorValue = str | int | datetime


@dataclass(frozen=True, slots=True)
class Cursor:
    sort: SortKey
    value: CursorValue
    last_id: str


def encode_cursor(cursor: Cursor) -> str:
    value: object = cursor.value
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    raw = json.dumps([cursor.sort.value, value, cursor.last_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str, sort: SortKey) -> Cursor:
    """Parse ``token``; it must have been made for the same ``sort``."""
    if len(token) > 4096:
        raise InvalidCursor()
    try:
        padded = token + "=" * (-len(token) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(decoded, list) or len(decoded) != 3:
            raise ValueError("a cursor is [sort, value, last id]")
        sort_value, value, last_id = decoded
        if sort_value != sort.value:
            raise ValueError("cursor of another sort")
        if not isinstance(last_id, str) or not is_valid_id(last_id):
            raise ValueError("last id must be a file id")
        if sort.column == "created_at":
            value = datetime.fromisoformat(value["t"])
            if value.tzinfo is None:
                raise ValueError("naive time")
            value = value.astimezone(UTC)  # OverflowError at the edges of year 1 and 9999
        elif sort.column == "size":
            # Out of BIGINT range, the database would fail the query instead of refusing it.
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
                raise ValueError("size must be a non-negative 64-bit integer")
        elif not isinstance(value, str) or "\x00" in value:
            raise ValueError("name must be a string without NUL (PostgreSQL rejects NUL)")
        else:
            # JSON may carry lone surrogates ("\\ud800") that no database can encode:
            # UnicodeEncodeError is a ValueError, so the cursor is refused (400), not a 500.
            value.encode("utf-8")
    except (ValueError, TypeError, KeyError, RecursionError, OverflowError) as exc:
        raise InvalidCursor() from exc
    return Cursor(sort, value, last_id)
