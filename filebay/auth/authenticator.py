"""Turning a request's credentials into a Principal, with no call to the auth service.

JWTs are checked locally against the published keys. Whether the session or API token is
still valid and the user still enabled is asked of the catalog (the database, or the
metadata service in the split shape) and remembered for ``revocation_seconds``: that is the
bound on how long a revoked token, a logout, a password change or a disabled user can go on
working on a service (30 s by default; the contract is 60 s).
"""

from __future__ import annotations

import hmac
import time
from collections import OrderedDict
from dataclasses import dataclass

from filebay.auth.jwt import Claims, KeySource, verify_jwt
from filebay.auth.principal import Principal
from filebay.auth.secrets import looks_like_api_token, secret_hash
from filebay.catalog.users import User, Verifier
from filebay.errors import CsrfFailed, Unauthorized

SESSION_COOKIE = "filebay_session"
CSRF_COOKIE = "filebay_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CACHE_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class Credentials:
    authorization: str | None
    session_cookie: str | None
    csrf_header: str | None
    method: str


def _csrf_matches(claims: Claims, creds: Credentials) -> bool:
    if not claims.csrf or not creds.csrf_header:
        return False
    return hmac.compare_digest(claims.csrf.encode(), creds.csrf_header.encode())


class Authenticator:
    def __init__(self, verifier: Verifier, keys: KeySource, ttl: float) -> None:
        self._verifier = verifier
        self._keys = keys
        self._ttl = ttl
        self._cache: OrderedDict[str, tuple[float, User]] = OrderedDict()

    def _remembered(self, key: str) -> User | None:
        hit = self._cache.get(key)
        if hit is None or time.monotonic() - hit[0] > self._ttl:
            return None
        return hit[1]

    def _remember(self, key: str, user: User) -> None:
        self._cache[key] = (time.monotonic(), user)
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)

    def forget(self, key_prefix: str = "") -> None:
        """Drop remembered checks (the auth routes do after a logout or password change)."""
        for key in [k for k in self._cache if k.startswith(key_prefix)]:
            del self._cache[key]

    async def _session_user(self, claims: Claims) -> User:
        key = f"s:{claims.username}:{secret_hash(claims.session_id)}"
        user = self._remembered(key)
        if user is None:
            user = await self._verifier.session_user(
                claims.username, secret_hash(claims.session_id)
            )
            if user is None:
                raise Unauthorized("session ended")
            self._remember(key, user)
        return user

    async def _token_user(self, token: str) -> User:
        key = f"t:{secret_hash(token)}"
        user = self._remembered(key)
        if user is None:
            user = await self._verifier.resolve_api_token(secret_hash(token))
            if user is None:
                raise Unauthorized("invalid token")
            self._remember(key, user)
        return user

    async def authenticate(self, creds: Credentials) -> Principal:
        """The caller, or ``Unauthorized`` / ``CsrfFailed``."""
        scheme, _, value = (creds.authorization or "").partition(" ")
        if scheme.lower() == "bearer" and value:
            value = value.strip()
            if looks_like_api_token(value):
                return Principal.of(await self._token_user(value), "api_token")
            claims = await verify_jwt(value, self._keys)
            user = await self._session_user(claims)
            return Principal.of(user, "jwt", claims.session_id, enrol_only=claims.enrol_only)
        if creds.session_cookie:
            claims = await verify_jwt(creds.session_cookie, self._keys)
            user = await self._session_user(claims)
            # A cookie rides along on cross-site requests; the CSRF token does not.
            if creds.method not in SAFE_METHODS and not _csrf_matches(claims, creds):
                raise CsrfFailed()
            return Principal.of(user, "session", claims.session_id, enrol_only=claims.enrol_only)
        raise Unauthorized()
