"""The ID token's checks (filebay.auth.oidc), each rule on its own, with keys made here and
a provider played by an httpx mock transport (discovery, JWKS with a key rotation)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from filebay.auth import oidc
from filebay.auth.oidc import Metadata, OidcProvider, ProviderConfig, check_claims, pkce_pair
from filebay.auth.sso import _role
from filebay.errors import SsoFailed

ISSUER = "https://op.example"
CONFIG = ProviderConfig(ISSUER, "filebay", "secret", "openid")
NONCE = "the-nonce"


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "u1", "aud": "filebay", "iat": now, "exp": now + 300}
    claims["nonce"] = NONCE
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _refused(claims: dict[str, Any], reason: str) -> None:
    with pytest.raises(SsoFailed) as caught:
        check_claims(claims, CONFIG, NONCE)
    assert reason in caught.value.detail


def test_good_claims_pass() -> None:
    check_claims(_claims(), CONFIG, NONCE)
    check_claims(_claims(aud=["filebay", "other"], azp="filebay"), CONFIG, NONCE)


def test_each_rule_refuses() -> None:
    now = int(time.time())
    _refused(_claims(iss="https://evil.example"), "iss")
    _refused(_claims(aud="another"), "another client")
    _refused(_claims(aud=["another", "third"]), "another client")
    _refused(_claims(aud=["filebay", "other"]), "azp")  # several audiences need azp
    _refused(_claims(azp="another"), "azp")
    _refused(_claims(exp=now - oidc.LEEWAY_SECONDS - 5), "expired")
    _refused(_claims(iat=now + oidc.LEEWAY_SECONDS + 60), "in the future")
    _refused(_claims(nonce="replayed"), "nonce")
    _refused(_claims(nonce=None), "nonce")
    _refused(_claims(sub=None), "sub")
    _refused(_claims(exp=None), "exp")


def test_clock_skew_within_leeway_passes() -> None:
    now = int(time.time())
    check_claims(_claims(iat=now + 30, exp=now - 30), CONFIG, NONCE)


def test_pkce_challenge_is_s256_of_the_verifier() -> None:
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    assert challenge == digest.decode().rstrip("=")


def test_discovery_must_name_our_issuer() -> None:
    doc = {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/auth",
        "token_endpoint": f"{ISSUER}/token",
        "jwks_uri": f"{ISSUER}/jwks",
    }
    assert Metadata.parse(doc, ISSUER).token_endpoint == f"{ISSUER}/token"
    with pytest.raises(SsoFailed):
        Metadata.parse({**doc, "issuer": "https://evil.example"}, ISSUER)
    with pytest.raises(SsoFailed):
        Metadata.parse({k: v for k, v in doc.items() if k != "jwks_uri"}, ISSUER)


class FakeProvider:
    """Discovery and a JWKS that can be rotated; counts the JWKS fetches."""

    def __init__(self) -> None:
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)]
        self.jwks_fetches = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "issuer": ISSUER,
                    "authorization_endpoint": f"{ISSUER}/auth",
                    "token_endpoint": f"{ISSUER}/token",
                    "jwks_uri": f"{ISSUER}/jwks",
                },
            )
        if request.url.path == "/jwks":
            self.jwks_fetches += 1
            return httpx.Response(200, json={"keys": [k.as_dict(private=False) for k in self.keys]})
        return httpx.Response(404)

    def sign(self, key: Any, alg: str = "RS256", **changes: Any) -> str:
        return jwt.encode({"alg": alg, "kid": key.kid}, _claims(**changes), key)


def _provider(fake: FakeProvider) -> OidcProvider:
    return OidcProvider(CONFIG, transport=httpx.MockTransport(fake.handler))


def test_signature_by_the_issuer_keys_and_rotation(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeProvider()
    provider = _provider(fake)
    first = fake.keys[0]
    claims = asyncio.run(provider.verify_id_token(fake.sign(first), NONCE))
    assert claims["sub"] == "u1"
    # The provider rotates: a token under a new kid makes the key set be fetched again.
    monkeypatch.setattr(oidc, "JWKS_MIN_REFRESH", 0.0)
    rotated = RSAKey.generate_key(2048, parameters={"kid": "k2"}, private=True)
    fake.keys = [rotated]
    assert asyncio.run(provider.verify_id_token(fake.sign(rotated), NONCE))["sub"] == "u1"
    assert fake.jwks_fetches == 2
    # The old key is gone from the set: what it signs no longer verifies.
    with pytest.raises(SsoFailed):
        asyncio.run(provider.verify_id_token(fake.sign(first), NONCE))


def test_a_key_not_the_issuers_is_refused() -> None:
    fake = FakeProvider()
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
    with pytest.raises(SsoFailed, match="signature"):
        asyncio.run(_provider(fake).verify_id_token(fake.sign(stranger), NONCE))


def test_unknown_kids_do_not_hammer_the_jwks() -> None:
    fake = FakeProvider()
    provider = _provider(fake)
    stranger = RSAKey.generate_key(2048, parameters={"kid": "junk"}, private=True)
    for _ in range(5):
        with pytest.raises(SsoFailed):
            asyncio.run(provider.verify_id_token(fake.sign(stranger), NONCE))
    assert fake.jwks_fetches == 1


def test_hmac_and_none_are_refused() -> None:
    fake = FakeProvider()
    # HS256 keyed with something the attacker knows (the client secret, a public key).
    hmac_key = OctKey.import_key(b"secret-secret-secret-secret-secret")
    forged = jwt.encode({"alg": "HS256", "kid": "k1"}, _claims(), hmac_key)
    with pytest.raises(SsoFailed, match="algorithm"):
        asyncio.run(_provider(fake).verify_id_token(forged, NONCE))
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').decode().rstrip("=")
    body = base64.urlsafe_b64encode(b'{"sub":"u1"}').decode().rstrip("=")
    with pytest.raises(SsoFailed):
        asyncio.run(_provider(fake).verify_id_token(f"{header}.{body}.", NONCE))


def test_roles_from_groups() -> None:
    admins = frozenset({"ops"})
    assert _role({"groups": ["staff", "ops"]}, admins) == "admin"
    assert _role({"groups": "ops"}, admins) == "admin"
    assert _role({"groups": ["staff"]}, admins) == "user"
    assert _role({}, admins) == "user"  # no groups claim: not an admin
    assert _role({"groups": {"ops": True}}, admins) == "user"  # not a list: nobody's admin
    assert _role({"groups": [1, None, "ops"]}, admins) == "admin"
    assert _role({"groups": ["ops"]}, None) is None  # roles are not the provider's
