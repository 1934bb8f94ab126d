"""An OpenID Connect relying party: discovery, the authorization request (code + PKCE S256,
``state``, ``nonce``), the code exchange, the ID token's checks and userinfo.

Signatures and claims are checked by joserfc (the JOSE library of Authlib's author); only
the OIDC rules on top of them (``aud``/``azp``, ``nonce``, the issuer's key set) are here.
Nothing in this module knows about users or HTTP requests of filebay: ``filebay.auth.sso``
does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from joserfc import jws, jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import KeySet

from filebay.errors import SsoFailed, Unavailable

#: Asymmetric algorithms only: "none" and HMAC (keyed with the client secret) never verify.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
#: Clock skew allowed between the provider and us, for ``exp``, ``iat`` and ``nbf``.
LEEWAY_SECONDS = 120
#: How long the discovery document is trusted before it is fetched again.
DISCOVERY_SECONDS = 3600
#: An unknown ``kid`` refetches the key set, at most this often (junk kids cannot hammer it).
JWKS_MIN_REFRESH = 10.0
TIMEOUT = 10.0


def pkce_pair() -> tuple[str, str]:
    """A PKCE verifier (RFC 7636: 43-128 URL-safe characters) and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    issuer: str
    client_id: str
    client_secret: str | None
    scopes: str


@dataclass(frozen=True, slots=True)
class Metadata:
    """What filebay uses of the provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    token_auth_methods: tuple[str, ...]

    @classmethod
    def parse(cls, data: Any, expected_issuer: str) -> Metadata:
        if not isinstance(data, dict):
            raise SsoFailed("the provider's discovery document is not a JSON object")
        # OIDC Discovery §4.3: the document's issuer is exactly the one we were given.
        if data.get("issuer") != expected_issuer:
            raise SsoFailed("the provider's discovery document names another issuer")
        try:
            methods = data.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
            return cls(
                issuer=data["issuer"],
                authorization_endpoint=str(data["authorization_endpoint"]),
                token_endpoint=str(data["token_endpoint"]),
                jwks_uri=str(data["jwks_uri"]),
                userinfo_endpoint=data.get("userinfo_endpoint"),
                token_auth_methods=tuple(str(m) for m in methods),
            )
        except KeyError as exc:
            raise SsoFailed(f"the provider's discovery document lacks {exc.args[0]}") from exc


@dataclass(frozen=True, slots=True)
class Tokens:
    """What the token endpoint answered: the checked ID token's claims, the access token."""

    claims: dict[str, Any]
    access_token: str | None


class OidcProvider:
    """One configured provider, its discovery document and key set cached per process."""

    def __init__(
        self, config: ProviderConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self._transport = transport
        self._metadata: Metadata | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = 0.0
        self._lock = asyncio.Lock()

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=TIMEOUT, transport=self._transport)

    async def _get_json(self, url: str, headers: dict[str, str] | None = None) -> Any:
        try:
            async with self._client() as client:
                response = await client.get(url, headers=headers)
                response.raise_for_status()
                return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise Unavailable("the identity provider cannot be reached") from exc

    async def metadata(self) -> Metadata:
        if self._metadata is None or time.monotonic() - self._metadata_at > DISCOVERY_SECONDS:
            url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
            self._metadata = Metadata.parse(await self._get_json(url), self.config.issuer)
            self._metadata_at = time.monotonic()
        return self._metadata

    async def authorization_url(
        self, redirect_uri: str, state: str, nonce: str, code_challenge: str
    ) -> str:
        meta = await self.metadata()
        query = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.config.scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        separator = "&" if "?" in meta.authorization_endpoint else "?"
        return meta.authorization_endpoint + separator + urlencode(query)

    async def exchange(
        self, code: str, redirect_uri: str, code_verifier: str, nonce: str
    ) -> Tokens:
        """The code for tokens at the token endpoint; the ID token checked (``SsoFailed``)."""
        meta = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        auth: httpx.BasicAuth | None = None
        secret = self.config.client_secret
        if secret and "client_secret_basic" in meta.token_auth_methods:
            # RFC 6749 §2.3.1: each form-urlencoded before they are joined.
            auth = httpx.BasicAuth(quote(self.config.client_id, safe=""), quote(secret, safe=""))
        else:
            form["client_id"] = self.config.client_id
            if secret:
                form["client_secret"] = secret
        try:
            async with self._client() as client:
                response = await client.post(meta.token_endpoint, data=form, auth=auth)
        except httpx.HTTPError as exc:
            raise Unavailable("the identity provider cannot be reached") from exc
        if response.status_code != 200:
            # invalid_grant: a code used twice, expired, or not issued for this verifier.
            raise SsoFailed("the identity provider refused the sign-in code")
        try:
            body = response.json()
        except ValueError as exc:
            raise SsoFailed("the identity provider's token answer is not JSON") from exc
        id_token = body.get("id_token") if isinstance(body, dict) else None
        if not isinstance(id_token, str):
            raise SsoFailed("the identity provider sent no ID token")
        claims = await self.verify_id_token(id_token, nonce)
        access = body.get("access_token")
        return Tokens(claims, access if isinstance(access, str) else None)

    async def _key_set(self, kid: str | None) -> KeySet:
        """The issuer's keys; fetched again when a token names a ``kid`` we do not have (the
        provider rotated its keys), at most every ``JWKS_MIN_REFRESH`` seconds."""
        async with self._lock:
            stale = self._keys is None or (
                kid is not None
                and not any(k.kid == kid for k in self._keys.keys)
                and time.monotonic() - self._keys_at > JWKS_MIN_REFRESH
            )
            if stale:
                await self._refresh_keys()
            if self._keys is None:
                raise SsoFailed("the identity provider's key set cannot be read")
            return self._keys

    async def _refresh_keys(self) -> None:
        """The key set fetched again; on failure the keys we had stay (an unknown kid stays
        unknown), or, with none, the provider is unavailable."""
        try:
            meta = await self.metadata()
            data = await self._get_json(meta.jwks_uri)
        except Unavailable:
            if self._keys is None:
                raise
            return
        with contextlib.suppress(JoseError, KeyError, TypeError, ValueError):
            self._keys = KeySet.import_key_set(data)
            self._keys_at = time.monotonic()

    async def verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The claims of an ID token whose signature (the issuer's keys), ``iss``, ``aud``,
        ``azp``, ``exp``, ``iat`` and ``nonce`` are right; ``SsoFailed`` otherwise."""
        try:
            header = jws.extract_compact(id_token.encode()).protected
        except (JoseError, ValueError) as exc:
            raise SsoFailed("the ID token is malformed") from exc
        if header.get("alg") not in ALGORITHMS:
            raise SsoFailed("the ID token is not signed with an accepted algorithm")
        kid = header.get("kid")
        keys = await self._key_set(kid if isinstance(kid, str) else None)
        try:
            token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
        except (JoseError, ValueError) as exc:
            raise SsoFailed("the ID token's signature does not verify") from exc
        check_claims(token.claims, self.config, nonce)
        return token.claims

    async def userinfo(self, access_token: str, subject: str) -> dict[str, Any]:
        """The claims of the userinfo endpoint; ``{}`` where there is none. Its ``sub`` must
        be the ID token's (OIDC Core §5.3.2), or the answer is about someone else."""
        meta = await self.metadata()
        if not meta.userinfo_endpoint:
            return {}
        data = await self._get_json(
            meta.userinfo_endpoint, headers={"Authorization": f"Bearer {access_token}"}
        )
        if not isinstance(data, dict) or data.get("sub") != subject:
            raise SsoFailed("the identity provider's userinfo is about another user")
        return data


def check_claims(
    claims: dict[str, Any], config: ProviderConfig, nonce: str, now: int | None = None
) -> None:
    """OIDC Core §3.1.3.7 on verified claims: ``SsoFailed`` naming the first failed rule."""
    registry = jwt.JWTClaimsRegistry(
        now=now,
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": config.issuer},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError as exc:
        raise SsoFailed("the ID token has expired") from exc
    except JoseError as exc:
        raise SsoFailed(f"the ID token is not valid ({exc.description})") from exc
    if not isinstance(claims["sub"], str):
        raise SsoFailed("the ID token's sub is not a string")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or config.client_id not in audiences:
        raise SsoFailed("the ID token was issued for another client")
    azp = claims.get("azp")
    if (len(audiences) > 1 and azp is None) or (azp is not None and azp != config.client_id):
        raise SsoFailed("the ID token was issued for another client (azp)")
