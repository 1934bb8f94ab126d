"""Blob keys: a file's generated id (``filebay.ids``), or a blob derived from one.

A derived blob (a thumbnail, say) is named ``<file's key>.<tag>``: it lives beside the file
in every store, and the key alone says which file it belongs to, so the orphan scan
(``filebay.upkeep.orphans``) keeps it exactly as long as that file has a record. Tags are
short lowercase words chosen by the code, never by a user.
"""

from __future__ import annotations

import re

from filebay.ids import is_valid_id

_DERIVED = re.compile(r"([0-9a-f]{32})\.([a-z][a-z0-9]{0,15})")


def derived_key(blob_key: str, tag: str) -> str:
    """The key of the blob ``tag`` derived from the file blob ``blob_key``."""
    key = f"{blob_key}.{tag}"
    if not _DERIVED.fullmatch(key):
        raise ValueError(f"not a derivable key and tag: {blob_key!r}, {tag!r}")
    return key


def is_blob_key(key: str) -> bool:
    """A file's key or a derived one: what a blob store accepts and lists."""
    return is_valid_id(key) or bool(_DERIVED.fullmatch(key))


def base_key(key: str) -> str:
    """The file blob a key belongs to: itself for a file's key, the file's for a derived one."""
    match = _DERIVED.fullmatch(key)
    return match.group(1) if match else key
