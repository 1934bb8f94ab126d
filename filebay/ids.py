"""File ids: 128 random bits as 32 lowercase hex characters (also the blob key)."""

from __future__ import annotations

import re
import secrets

_ID = re.compile(r"[0-9a-f]{32}")


def new_id() -> str:
    return secrets.token_hex(16)


def is_valid_id(value: str) -> bool:
    """A malformed id is answered like an unknown one (404), never looked up."""
    return bool(_ID.fullmatch(value))
