"""Share links: creating one, finding one by its token, its password, revoking it.

A link's token is a bearer secret: it is shown once, at creation, and only its hash is
kept. Every reason a link does not work (unknown, expired, used up, revoked, its file
deleted, its owner disabled) is the same ``NotFound(SHARE_GONE)``: the answer gives
nothing away.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from filebay.auth.passwords import admit_check, hash_password, hashing_bound, verify_password
from filebay.auth.secrets import secret_hash
from filebay.catalog.files import Catalog, FileRecord
from filebay.catalog.shares import Share, ShareLookup, Shares
from filebay.catalog.users import LoginLimiter
from filebay.config import Settings
from filebay.errors import NotFound, TooManyAttempts
from filebay.ids import is_valid_id, new_id

SHARE_TOKEN_BYTES = 24  # 192 random bits
MAX_TOKEN = 128  # longer is no token of ours: not even hashed and looked up
MAX_EXPIRES_IN = 10 * 365 * 24 * 3600
PASSWORD_FAILURES = 10  # wrong passwords per link per login window
SHARE_GONE = "This link does not exist, has expired, or has been used up."


def new_share_token() -> str:
    return secrets.token_urlsafe(SHARE_TOKEN_BYTES)


def link_path(token: str) -> str:
    """The link's page (its bytes are under ``/content``), relative to the download service."""
    return f"/s/{token}"


def gone() -> NotFound:
    """The one answer of a link that does not work, whatever the reason."""
    return NotFound(SHARE_GONE)


async def create_share(
    shares: Shares,
    file_id: str,
    owner: str,
    *,
    expires_in: int | None,
    password: str | None,
    max_downloads: int | None,
    kind: str = "file",
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
        kind=kind,
    )
    await shares.create_share(share, secret_hash(token))
    return share, token


async def revoke_share(shares: Shares, token_or_id: str, owner: str | None) -> None:
    """Revoke by the link's token or its id; ``NotFound`` unless it is ``owner``'s."""
    share_id = token_or_id if is_valid_id(token_or_id) else ""
    await shares.delete_share(secret_hash(token_or_id), share_id, owner)


def expired(share: Share, now: datetime) -> bool:
    return share.expires_at is not None and share.expires_at <= now


async def find_link(lookup: ShareLookup, token: str) -> Share:
    """The link with this token, whatever its state (expired, used up): ``gone()`` when
    there is none."""
    share = await lookup.find_share(secret_hash(token)) if len(token) <= MAX_TOKEN else None
    if share is None:
        raise gone()
    return share


async def file_of(catalog: Catalog, share: Share) -> FileRecord:
    """The shared file; ``gone()`` once it is deleted."""
    try:
        return await catalog.get(share.file_id, None)
    except NotFound:
        raise gone() from None


async def open_link(
    lookup: ShareLookup, catalog: Catalog, token: str, now: datetime
) -> tuple[Share, FileRecord]:
    """The usable link (not expired, not used up) and its file; ``gone()`` otherwise."""
    share = await find_link(lookup, token)
    if not share.usable(now):
        raise gone()
    return share, await file_of(catalog, share)


async def check_password(
    share: Share,
    password: str,
    *,
    limiter: LoginLimiter,
    address: str,
    settings: Settings,
) -> bool:
    """Whether ``password`` opens ``share`` (which has one).

    ``PASSWORD_FAILURES`` wrong passwords per link, and the login limit per client
    ``address``, in the login window: ``TooManyAttempts`` (429) past them. The check is
    admitted to the hashing queue first (a burst is refused in memory), then counted before
    it is made, in one transaction with the limits: parallel guesses meet the limits as
    guesses one at a time do. A right password starts the link's count again; the address
    keeps its other failures."""
    keys = [f"share:{share.id}", f"addr:{address}"]
    limits = [PASSWORD_FAILURES, settings.login_max_failures_per_address]
    with admit_check(address, hashing_bound(settings)) as admission:
        wait = await limiter.reserve_login_attempt(keys, limits, settings.login_window_seconds)
        if wait:
            raise TooManyAttempts(wait)
        ok = await verify_password(share.password_hash, password, admission=admission)
        if ok:
            await limiter.release_login_attempt(keys[1:], keys[:1])
    return ok
