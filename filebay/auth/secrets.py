"""Bearer secrets (API tokens, session ids): 256 random bits, stored only as SHA-256."""

from __future__ import annotations

import hashlib
import secrets

API_TOKEN_PREFIX = "fbt_"


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def looks_like_api_token(value: str) -> bool:
    return value.startswith(API_TOKEN_PREFIX)


def secret_hash(value: str) -> str:
    """A fast hash is right here: the secrets are random, not guessable like passwords."""
    return hashlib.sha256(value.encode()).hexdigest()
