"""Share links: creating them, and the signed cookies that remember an unlocked password
and a started download."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime, timedelta

from filebay.auth.passwords import hash_password
from filebay.auth.secrets import secret_hash
from filebay.catalog.shares import Share, Shares
from filebay.ids import new_id

SHARE_TOKEN_BYTES = 24  # 192 random bits
UNLOCK_SECONDS = 12 * 3600
TICKET_SECONDS = 24 * 3600
MAX_EXPIRES_IN = 10 * 365 * 24 * 3600


def new_share_token() -> str:
    return secrets.token_urlsafe(SHARE_TOKEN_BYTES)


async def create_share(
    shares: Shares,
    file_id: str,
    owner: str,
    *,
    expires_in: int | None,
    password: str | None,
    max_downloads: int | None,
) -> tuple[Share, str]:
    """The share and its token; the token is shown once and only its hash is kept."""
    token = new_share_token()
    now = datetime.now(UTC)
    share = Share(
        id=new_id(),
        file_id=file_id,
        owner=owner,
        created_at=now,
        expires_at=now + timedelta(seconds=expires_in) if expires_in else None,
        password_hash=await hash_password(password) if password else None,
        max_downloads=max_downloads,
        downloads=0,
    )
    await shares.create_share(share, secret_hash(token))
    return share, token


def _sign(secret: str, purpose: str, share: Share, expires: int) -> str:
    # The password hash is part of what is signed: a new password voids old unlocks.
    message = f"{purpose}|{share.id}|{share.password_hash or ''}|{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def issue_grant(secret: str, purpose: str, share: Share, seconds: int) -> str:
    expires = int(time.time()) + seconds
    return f"{expires}.{_sign(secret, purpose, share, expires)}"


def check_grant(secret: str, purpose: str, share: Share, value: str | None) -> bool:
    if not value or "." not in value:
        return False
    expires_text, signature = value.split(".", 1)
    if not expires_text.isdigit() or int(expires_text) < time.time():
        return False
    expected = _sign(secret, purpose, share, int(expires_text))
    return hmac.compare_digest(expected, signature)


def cookie_name(purpose: str, share: Share) -> str:
    return f"filebay_{purpose}_{share.id[:12]}"
