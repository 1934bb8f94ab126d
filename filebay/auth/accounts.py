"""Logins, sessions and user administration: the auth service's use cases."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from filebay.auth.jwt import issue_jwt
from filebay.auth.keys import KeyRing
from filebay.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    admit_check,
    hash_password,
    hashing_bound,
    verify_password,
)
from filebay.auth.secrets import new_session_id, secret_hash
from filebay.catalog.files import Catalog, ListQuery
from filebay.catalog.users import ROLES, UNSET, Directory, User
from filebay.config import Settings
from filebay.errors import BadRequest, LoginRefused, NotFound, TooManyAttempts
from filebay.previews.thumbnails import remove_thumbnails
from filebay.storage.base import BlobStore, Staging

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_username(username: str) -> str:
    if not USERNAME.fullmatch(username):
        raise BadRequest("username: 1-64 of letters, digits, '.', '_', '-'")
    return username


def check_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise BadRequest(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    return password


def check_role(role: str) -> str:
    if role not in ROLES:
        raise BadRequest("role: 'admin' or 'user'")
    return role


def _login_counters(settings: Settings, username: str, address: str) -> tuple[list[str], list[int]]:
    """The failure counters a login is held to, and their limits.

    The tight limit counts one user's failures from one address: a stranger who fails ten
    times locks out their own address for that user, not the user everywhere (a lockout any
    stranger can cause is a denial-of-service lever, on the admin first of all). A looser
    limit over all addresses together still caps guessing spread over many addresses.
    """
    user, addr = username.lower()[:64], address[:48]
    keys = [f"pair:{user}|{addr}", f"addr:{addr}", f"user:{user}"]
    limits = [
        settings.login_max_failures,
        settings.login_max_failures_per_address,
        settings.login_max_failures_per_user,
    ]
    return keys, limits


async def authenticate_password(
    directory: Directory, settings: Settings, username: str, password: str, address: str
) -> User:
    """The user whose password this is; ``TooManyAtOnce`` (429) or ``HashingBusy`` (503)
    while too many password checks are in progress, from this address or in all;
    ``TooManyAttempts`` (429) while a failure counter of the login is at its limit;
    ``Unauthorized`` (one message for every failure) otherwise.

    The check is admitted first, in memory, so a burst is refused before it reaches the
    database. The attempt is then counted before the (slow) hash, in one transaction with
    the limit check, so parallel attempts meet the limits as attempts one after another
    do; a success takes its count back from the address and starts the user's counters
    again. A refusal counts nothing."""
    keys, limits = _login_counters(settings, username, address)
    pair, addr, user_key = keys
    with admit_check(address, hashing_bound(settings)) as admission:
        wait = await directory.reserve_login_attempt(keys, limits, settings.login_window_seconds)
        if wait:
            raise TooManyAttempts(wait)
        stored = await directory.password_hash(username) if len(password) <= 1024 else None
        ok = await verify_password(stored, password[:MAX_PASSWORD_LENGTH], admission=admission)
        user = await directory.get_user(username) if ok else None
        if user is None or user.disabled:
            raise LoginRefused(_why(stored, user))  # counted already
        # The user's own counters start again; the address keeps its other failures (it
        # may be guessing at others).
        await directory.release_login_attempt([addr], [pair, user_key])
    return user


def _why(stored_hash: str | None, user: User | None) -> str:
    if user is not None:
        return "disabled"
    return "unknown_user" if stored_hash is None else "wrong_password"


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a session was started from (shown in the account's sessions list)."""

    address: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class IssuedSession:
    token: str
    session_id: str
    csrf: str | None
    expires_in: int


async def start_session(
    directory: Directory,
    ring: KeyRing,
    user: User,
    ttl: int,
    *,
    browser: bool,
    enrol_only: bool = False,
    client: ClientInfo | None = None,
) -> IssuedSession:
    """A session row (so it can be revoked, and listed with the ``client`` that started
    it) and the JWT that names it (``enrol_only``: one that may only set up a second
    factor)."""
    session_id = new_session_id()
    csrf = secrets.token_urlsafe(24) if browser else None
    expires = datetime.now(UTC) + timedelta(seconds=ttl)
    client = client or ClientInfo()
    await directory.create_session(
        user.username,
        secret_hash(session_id),
        expires,
        user_agent=client.user_agent,
        address=client.address,
    )
    token = issue_jwt(ring, user.username, session_id, ttl, csrf, enrol_only=enrol_only)
    return IssuedSession(token, session_id, csrf, ttl)


async def update_account(
    directory: Directory,
    username: str,
    *,
    password: str | None = None,
    role: str | None = None,
    quota_bytes: int | None = UNSET,
    disabled: bool | None = None,
    quota_files: int | None = UNSET,
) -> User:
    """Change a user; the directory refuses to demote or disable the last enabled admin."""
    return await directory.update_user(
        username,
        password_hash=(
            await hash_password(check_password(password)) if password is not None else None
        ),
        role=check_role(role) if role is not None else None,
        quota_bytes=quota_bytes,
        quota_files=quota_files,
        disabled=disabled,
    )


async def delete_account(
    directory: Directory, catalog: Catalog, store: BlobStore, username: str
) -> int:
    """Delete a user and every file they own (records first, then blobs); the count of
    files deleted. The last enabled admin cannot be deleted (disabling them is refused)."""
    # Sessions and tokens go first so the user cannot upload while their files are removed.
    await directory.update_user(username, disabled=True)
    deleted = 0
    while True:
        # Trashed files too: deleting a user deletes everything of theirs.
        page = await catalog.list(username, ListQuery(limit=500, include_trash=True))
        if not page.items:
            break
        for record in page.items:
            try:
                await catalog.delete(record.id, username)
            except NotFound:
                continue
            await store.delete(record.blob_key)
            await remove_thumbnails(store, record.blob_key)
            deleted += 1
    for upload_id in await directory.delete_user(username):
        # The rows are gone already; a crash here leaves staged bytes without a session,
        # which `filebay fsck --repair` removes.
        if isinstance(store, Staging):
            await store.delete_staged(upload_id)
    return deleted
