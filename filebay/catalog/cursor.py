"""Opaque keyset cursors: the sort key, its value and the id of the last row on a page."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from filebay.catalog.base import SortKey
from filebay.errors import InvalidCursor

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
        sort_value, value, last_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if sort_value != sort.value or not isinstance(last_id, str):
            raise ValueError("cursor of another sort")
        if sort.column == "created_at":
            value = datetime.fromisoformat(value["t"])
            if value.tzinfo is None:
                raise ValueError("naive time")
        elif sort.column == "size":
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError("size must be an integer")
        elif not isinstance(value, str):
            raise ValueError("name must be a string")
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise InvalidCursor() from exc
    return Cursor(sort, value, last_id)
