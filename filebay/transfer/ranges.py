"""HTTP Range and conditional request logic (RFC 9110), as pure functions."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime

from filebay.errors import RangeNotSatisfiable

MAX_RANGE_HEADER = 1024


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range ``(start, end_exclusive)`` asked for, or ``None`` to send it all.

    Headers we do not serve as a single range (other units, several ranges, bad syntax) are
    ignored, as RFC 9110 allows. A well-formed range that misses the file raises
    ``RangeNotSatisfiable``.
    """
    if not header or len(header) > MAX_RANGE_HEADER:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    first, last = first.strip(), last.strip()
    if not dash or not (first.isdigit() or first == "") or not (last.isdigit() or last == ""):
        return None
    if not first.isascii() or not last.isascii():
        return None
    if first == "":
        if last == "":
            return None
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable(size)
        if size == 0:
            return None  # satisfiable (RFC 9110 §14.1.1), but no 206 can carry zero bytes
        return max(0, size - suffix), size
    start = int(first)
    if last and int(last) < start:
        return None  # "5-3" is invalid syntax: ignore the header
    if start >= size:
        raise RangeNotSatisfiable(size)
    end = int(last) + 1 if last else size
    return start, min(end, size)


def http_date(moment: datetime) -> str:
    return format_datetime(moment.replace(microsecond=0), usegmt=True)


def _etags(header: str) -> list[str]:
    return [tag.strip().removeprefix("W/") for tag in header.split(",")]


def _http_time(value: str) -> datetime | None:
    """An HTTP date; ``None`` when it is not one (a "-0000" date parses without a zone:
    not an HTTP date either, and comparing it with an aware time would raise)."""
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return moment if moment.tzinfo is not None else None


def precondition_failed(
    if_match: str | None, if_unmodified_since: str | None, etag: str, last_modified: datetime
) -> bool:
    """``If-Match`` (strong comparison), or without it ``If-Unmodified-Since``, fails:
    answer 412 (RFC 9110 §13.2.2; a client resuming with them must not get other bytes).
    A date that is not an HTTP date is ignored, as the RFC says."""
    if if_match:
        if if_match.strip() == "*":
            return False
        return etag not in [tag.strip() for tag in if_match.split(",")]
    if if_unmodified_since:
        since = _http_time(if_unmodified_since)
        return since is not None and last_modified.replace(microsecond=0) > since
    return False


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """``If-None-Match`` (weak comparison) matches: answer 304."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return etag in _etags(if_none_match)


def if_range_allows(if_range: str | None, etag: str, last_modified: datetime) -> bool:
    """Whether a ``Range`` may be honoured given ``If-Range`` (strong comparison)."""
    if not if_range:
        return True
    value = if_range.strip()
    if value.startswith('"') or value.startswith("W/"):
        return value == etag
    return _http_time(value) == last_modified.replace(microsecond=0)
