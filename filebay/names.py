"""File-name cleaning. A stored name is metadata only; it never becomes a path."""

from __future__ import annotations

import mimetypes
import re
import unicodedata

from filebay.errors import BadRequest, NameTooLong

MAX_NAME_BYTES = 255
UNNAMED = "unnamed"
# The generic type a client sends when it does not know; we guess from the name instead.
GENERIC_TYPES = frozenset({"", "application/octet-stream", "application/x-www-form-urlencoded"})
_TOKEN = r"[!#$%&'*+.^_`|~0-9a-z-]+"  # RFC 9110 token, lowercased
_MEDIA_TYPE = re.compile(f"{_TOKEN}/{_TOKEN}")


def _is_control(ch: str) -> bool:
    # Cc: C0/C1 controls incl. NUL; Cf: bidi overrides and other invisible format characters;
    # Cs: lone surrogates, which cannot be encoded as UTF-8 at all.
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def clean_name(raw: str | None) -> str:
    """The last path segment of ``raw`` without control characters, ``.``/``..``, or edges.

    Never empty (``unnamed``) and never over 255 bytes of UTF-8 (truncated keeping the
    extension).
    """
    text = (raw or "").replace("\\", "/")
    segment = text.rsplit("/", 1)[-1]
    segment = "".join(ch for ch in segment if not _is_control(ch)).strip()
    # Checked after the cut: "." followed by 300 spaces and an "x" is cut down to ".".
    segment = truncate_name(segment)
    return UNNAMED if segment in ("", ".", "..") else segment


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
    # A cut that ends in whitespace would leave an edge that cleaning strips again.
    return f"{cut.rstrip()}{suffix}"


def validate_new_name(raw: str) -> str:
    """A rename target: cleaned like an upload name, but too long is an error, not a cut."""
    # surrogatepass: a lone surrogate is counted (and then cleaned away), not a crash.
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise NameTooLong()
    return clean_name(raw)


def guess_content_type(name: str, declared: str | None) -> str:
    """The declared type when it says something, else a guess from the name."""
    declared = (declared or "").split(";")[0].strip().lower()
    # Only a well-formed type/subtype: the value is sent back as a response header.
    if declared not in GENERIC_TYPES and len(declared) <= 127 and _MEDIA_TYPE.fullmatch(declared):
        return declared
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def name_key(name: str) -> str:
    """What makes two names in one folder the same: Unicode NFC, then case folding (and NFC
    again, as folding may undo it). ``Résumé.txt`` typed on macOS (NFD) and ``résumé.TXT``
    collide, as they would on the file systems of Windows and macOS clients."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def validate_folder_name(raw: str) -> str:
    """A folder's name as a client chose it: control characters are cleaned away like a
    file's, but a separator, ``.``/``..`` or nothing left is a 400, not a silent change."""
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise NameTooLong()
    if "/" in raw or "\\" in raw:
        raise BadRequest("a folder name cannot contain '/' or '\\'")
    name = "".join(ch for ch in raw if not _is_control(ch)).strip()
    if name in ("", ".", ".."):
        raise BadRequest("a folder name cannot be empty, '.' or '..'")
    return name


def numbered(name: str, n: int) -> str:
    """The ``n``-th alternative of a taken name: ``a.txt`` → ``a (1).txt`` (kept within the
    length limit); a leading dot is not an extension (``.bashrc (1)``)."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode()) > 16:
        stem, ext = name, ""
    suffix = f" ({n})" + (f".{ext}" if ext else "")
    budget = MAX_NAME_BYTES - len(suffix.encode())
    return stem.encode()[:budget].decode(errors="ignore").rstrip() + suffix


def split_path(path: str) -> list[str]:
    """``/photos/2026/a.jpg`` → ``["photos", "2026", "a.jpg"]``: empty segments and ``.``
    dropped; ``..`` is refused (a path never climbs)."""
    segments = [s for s in path.replace("\\", "/").split("/") if s not in ("", ".")]
    if any(s == ".." for s in segments):
        raise BadRequest("a path cannot contain '..'")
    return segments
