"""Second factors (DESIGN §8.4): TOTP enrolment and its recovery codes, the second step of
a password login, and who must have one (FILEBAY_REQUIRE_MFA).

A code is good once: the time step of the last TOTP code accepted is kept per user and
only a later step passes (one conditional UPDATE, so two requests with one code cannot
both win), and a recovery code is marked used the same way. Wrong codes count on the login
limiter like wrong passwords do."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from filebay.auth import totp
from filebay.auth.passwords import hash_password, verify_password
from filebay.auth.secrets import secret_hash
from filebay.catalog.identities import Identities
from filebay.catalog.users import Directory, LoginLimiter, User
from filebay.config import Settings
from filebay.errors import BadRequest, Conflict, TooManyAttempts, Unauthorized, WrongCode

#: How long the second step of a login may wait for its code.
CHALLENGE_SECONDS = 300


def must_enrol(settings: Settings, user: User) -> bool:
    """Whether FILEBAY_REQUIRE_MFA wants this user to have a second factor."""
    return settings.require_mfa == "all" or (settings.require_mfa == "admins" and user.is_admin)


async def has_totp(identities: Identities, username: str) -> bool:
    state = await identities.totp(username)
    return state is not None and state.confirmed


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str
    otpauth_uri: str
    qr_svg: str


async def begin_enrolment(identities: Identities, username: str) -> Enrolment:
    """A new secret, on once confirmed with a code of it."""
    secret = totp.new_secret()
    await identities.begin_totp(username, secret)
    uri = totp.provisioning_uri(secret, username)
    return Enrolment(secret, uri, totp.qr_svg(uri))


async def _counted(
    limiter: LoginLimiter, settings: Settings, username: str, address: str
) -> tuple[str, str]:
    """Count a code check before it is made (``TooManyAttempts`` at the limit): per user,
    whoever guesses (they hold the password already), and per address."""
    user_key, addr_key = f"mfa:{username.lower()[:64]}", f"addr:{address[:48]}"
    wait = await limiter.reserve_login_attempt(
        [user_key, addr_key],
        [settings.login_max_failures, settings.login_max_failures_per_address],
        settings.login_window_seconds,
    )
    if wait:
        raise TooManyAttempts(wait)
    return user_key, addr_key


async def confirm_enrolment(
    identities: Identities,
    limiter: LoginLimiter,
    settings: Settings,
    username: str,
    code: str,
    address: str,
) -> list[str]:
    """TOTP on, with ten new recovery codes (returned once, stored as Argon2id hashes)."""
    state = await identities.totp(username)
    if state is None or state.confirmed:
        raise BadRequest("nothing to confirm: start with POST /api/me/totp")
    user_key, addr_key = await _counted(limiter, settings, username, address)
    step = totp.matching_step(state.secret, totp.normalize(code))
    if step is None:
        raise WrongCode()
    await limiter.release_login_attempt([addr_key], [user_key])
    codes = totp.new_recovery_codes()
    # On the hashing pool's threads side by side (ten Argon2id hashes take a while).
    hashes = list(await asyncio.gather(*(hash_password(c) for c in codes)))
    if not await identities.confirm_totp(username, step, hashes):
        raise Conflict("two-step login was changed meanwhile; start again")
    return codes


async def _code_is_good(identities: Identities, username: str, code: str) -> bool:
    """A TOTP code of a step not used yet, or an unused recovery code (then spent)."""
    state = await identities.totp(username)
    if state is None or not state.confirmed:
        return False
    code = totp.normalize(code)
    step = totp.matching_step(state.secret, code)
    if step is not None:
        return await identities.spend_totp_step(username, step)
    if totp.looks_like_recovery(code):
        for stored in await identities.recovery_codes(username):
            if await verify_password(stored.code_hash, code):
                return await identities.spend_recovery_code(stored.id)
    return False


async def check_code(
    identities: Identities,
    limiter: LoginLimiter,
    settings: Settings,
    username: str,
    code: str,
    address: str,
    *,
    signed_in: bool = False,
) -> None:
    """Nothing when ``code`` is good (and now spent); else ``Unauthorized`` for a login,
    ``WrongCode`` (400) for someone ``signed_in``; ``TooManyAttempts`` while too many wrong
    codes were tried."""
    user_key, addr_key = await _counted(limiter, settings, username, address)
    if not await _code_is_good(identities, username, code):
        raise WrongCode() if signed_in else Unauthorized("wrong code")  # counted already
    await limiter.release_login_attempt([addr_key], [user_key])


async def start_challenge(identities: Identities, user: User, *, browser: bool) -> str:
    """The ``mfa_token`` of a password login that waits for its code."""
    token = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(seconds=CHALLENGE_SECONDS)
    await identities.create_challenge(secret_hash(token), user.username, browser, expires)
    return token


async def challenge_user(identities: Identities, mfa_token: str) -> str | None:
    """Whose login this token continues (for the audit log of a failed second step)."""
    challenge = await identities.challenge(secret_hash(mfa_token), datetime.now(UTC))
    return None if challenge is None else challenge.username


async def finish_challenge(
    identities: Identities,
    directory: Directory,
    settings: Settings,
    mfa_token: str,
    code: str,
    address: str,
) -> User:
    """The user whose login this finishes; the token is good once."""
    token_hash = secret_hash(mfa_token)
    challenge = await identities.challenge(token_hash, datetime.now(UTC))
    if challenge is None:
        raise Unauthorized("this login has expired; start again")
    await check_code(identities, directory, settings, challenge.username, code, address)
    if not await identities.end_challenge(token_hash):
        raise Unauthorized("this login was finished already")
    user = await directory.get_user(challenge.username)
    if user.disabled:
        raise Unauthorized("wrong username or password")
    return user
