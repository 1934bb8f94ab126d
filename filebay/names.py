"""File-name cleaning. A stored name is metadata only; it never becomes a path."""

from __future__ import annotations

import mimetypes
import unicodedata

from filebay.errors import NameTooLong

MAX_NAME_BYTES = 255
UNNAMED = "unnamed"
# The generic type a client sends when it does not know; we guess from the name instead.
GENERIC_TYPES = frozenset({"", "application/octet-stream", "application/x-www-form-urlencoded"})


def _is_control(ch: str) -> bool:
    # Cc: C0/C1 controls incl. NUL; Cf: bidi overrides and other invisible format characters.
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def clean_name(raw: str | None) -> str:
    """The last path segment of ``raw`` without control characters, ``.``/``..``, or edges.

    Never empty (``unnamed``) and never over 255 bytes of UTF-8 (truncated keeping the
    extension).
    """
    text = (raw or "").replace("\\", "/")
    segment = text.rsplit("/", 1)[-1]
    segment = "".join(ch for ch in segment if not _is_control(ch)).strip()
    if segment in ("", ".", ".."):
        return UNNAMED
    return truncate_name(segment)


def truncate_name(name: str, limit: int = MAX_NAME_BYTES) -> str:
    """Cut ``name`` to ``limit`` UTF-8 bytes, keeping a short extension and whole characters."""
    if len(name.encode()) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    suffix = f".{ext}" if dot and stem and len(ext.encode()) <= 16 else ""
    if not suffix:
        stem = name
    budget = limit - len(suffix.encode())
    cut = stem.encode()[:budget].decode(errors="ignore")
    return f"{cut}{suffix}"


def validate_new_name(raw: str) -> str:
    """A rename target: cleaned like an upload name, but too long is an error, not a cut."""
    if len(raw.encode()) > MAX_NAME_BYTES:
        raise NameTooLong()
    return clean_name(raw)


def guess_content_type(name: str, declared: str | None) -> str:
    """The declared type when it says something, else a guess from the name."""
    declared = (declared or "").split(";")[0].strip().lower()
    if declared not in GENERIC_TYPES and "/" in declared and len(declared) <= 127:
        return declared
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"
