"""Content-Disposition per RFC 6266 and the inline allow-list."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

# Types that cannot run script in our origin. HTML, SVG, XML and JavaScript are never here.
INLINE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/bmp",
        "application/pdf",
        "text/plain",
    }
)
INLINE_PREFIXES = ("audio/", "video/")
# attr-char of RFC 8187 besides alphanumerics.
_ATTR_SAFE = "!#$&+-.^_`|~"


def can_inline(content_type: str) -> bool:
    base = content_type.split(";")[0].strip().lower()
    return base in INLINE_TYPES or base.startswith(INLINE_PREFIXES)


def ascii_fallback(name: str) -> str:
    """A quoted-string-safe ASCII approximation of ``name`` for old clients."""
    decomposed = unicodedata.normalize("NFKD", name)
    chars = []
    for ch in decomposed:
        if ch.isascii() and ch.isprintable() and ch not in '"\\':
            chars.append(ch)
        elif not unicodedata.combining(ch):
            chars.append("_")
    text = "".join(chars).strip()
    return text or "download"


def content_disposition(name: str, *, inline: bool = False) -> str:
    kind = "inline" if inline else "attachment"
    encoded = quote(name, safe=_ATTR_SAFE)
    return f"{kind}; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{encoded}"
