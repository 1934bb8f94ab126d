"""Issuing and checking filebay's JWTs (EdDSA, ``kid`` header, issuer and audience)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from filebay.auth.keys import KeyRing
from filebay.errors import Unauthorized

ISSUER = "filebay"
AUDIENCE = "filebay"
ALGORITHMS = ["EdDSA"]  # a fixed list: "none" and HMAC-with-the-public-key never verify
LEEWAY_SECONDS = 5
#: Marks a session that may only set up a second factor (FILEBAY_REQUIRE_MFA).
ENROL_CLAIM = "mfa_enrol"


@dataclass(frozen=True, slots=True)
class Claims:
    username: str
    session_id: str
    csrf: str | None
    expires_at: int
    #: A session that may only set up a second factor (FILEBAY_REQUIRE_MFA).
    enrol_only: bool = False


def issue_jwt(
    ring: KeyRing,
    username: str,
    session_id: str,
    ttl: int,
    csrf: str | None,
    *,
    enrol_only: bool = False,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": username,
        "sid": session_id,
        "iat": now,
        "nbf": now - LEEWAY_SECONDS,
        "exp": now + ttl,
    }
    if csrf is not None:
        claims["csrf"] = csrf
    if enrol_only:
        claims[ENROL_CLAIM] = True
    return jwt.encode(
        claims, ring.signing.private, algorithm="EdDSA", headers={"kid": ring.signing.kid}
    )


class KeySource(Protocol):
    async def public_key(self, kid: str) -> Ed25519PublicKey | None:
        """The verification key with this ``kid``, or ``None``."""


def _key_from_jwk(jwk: dict[str, Any]) -> Ed25519PublicKey | None:
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "x" not in jwk:
        return None
    raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    return Ed25519PublicKey.from_public_bytes(raw)


class LocalKeys:
    """The all-in-one process and the auth service verify with the ring they sign with."""

    def __init__(self, ring: KeyRing) -> None:
        self._keys = {k.kid: k.private.public_key() for k in ring.keys}

    async def public_key(self, kid: str) -> Ed25519PublicKey | None:
        return self._keys.get(kid)


class RemoteJwks:
    """The published keys of the auth service, cached; refetched on an unknown ``kid``
    (at most every ``min_refresh`` seconds, so junk kids cannot hammer the auth service)."""

    def __init__(self, auth_url: str, *, min_refresh: float = 10.0, max_age: float = 3600) -> None:
        self._url = auth_url.rstrip("/") + "/.well-known/jwks.json"
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched = 0.0
        self._min_refresh = min_refresh
        self._max_age = max_age
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(self._url)
            response.raise_for_status()
        keys = {}
        for jwk in response.json().get("keys", []):
            key = _key_from_jwk(jwk)
            if key is not None and isinstance(jwk.get("kid"), str):
                keys[jwk["kid"]] = key
        self._keys = keys
        self._fetched = time.monotonic()

    async def public_key(self, kid: str) -> Ed25519PublicKey | None:
        age = time.monotonic() - self._fetched
        if (kid not in self._keys and age > self._min_refresh) or age > self._max_age:
            async with self._lock:
                if time.monotonic() - self._fetched > self._min_refresh:
                    # On failure keep the keys we have; an unknown kid stays unknown.
                    with contextlib.suppress(httpx.HTTPError, ValueError):
                        await self._refresh()
        return self._keys.get(kid)


async def verify_jwt(token: str, keys: KeySource) -> Claims:
    """Signature, algorithm, expiry, issuer and audience; ``Unauthorized`` otherwise."""
    try:
        header = jwt.get_unverified_header(token)
        kid = header.get("kid")
        if header.get("alg") not in ALGORITHMS or not isinstance(kid, str):
            raise Unauthorized("invalid token")
        key = await keys.public_key(kid)
        if key is None:
            raise Unauthorized("invalid token")
        claims = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "sub", "sid", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("invalid token") from exc
    if not isinstance(claims.get("sub"), str) or not isinstance(claims.get("sid"), str):
        raise Unauthorized("invalid token")
    csrf = claims.get("csrf")
    return Claims(
        claims["sub"],
        claims["sid"],
        csrf if isinstance(csrf, str) else None,
        claims["exp"],
        enrol_only=claims.get(ENROL_CLAIM) is True,
    )
