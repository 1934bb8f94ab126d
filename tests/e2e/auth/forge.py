"""Hand-made JWTs: re-signed with the real key, or signed the ways an attacker would try."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def claims_of(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified."""
    return dict(jwt.decode(token, options={"verify_signature": False}))


def header_of(token: str) -> dict[str, Any]:
    return dict(jwt.get_unverified_header(token))


def signing_key(data_dir: Path) -> Ed25519PrivateKey:
    """The deployment's own signing key (the one PEM under ``<data dir>/jwt-keys``)."""
    pems = sorted((data_dir / "jwt-keys").glob("*.pem"))
    assert len(pems) == 1, pems
    key = serialization.load_pem_private_key(pems[0].read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def eddsa(claims: dict[str, Any], key: Ed25519PrivateKey, kid: str | None) -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(claims, key, algorithm="EdDSA", headers=headers)


def _signing_input(header: dict[str, Any], claims: dict[str, Any]) -> bytes:
    def part(value: dict[str, Any]) -> str:
        return b64url(json.dumps(value, separators=(",", ":")).encode())

    return f"{part(header)}.{part(claims)}".encode()


def unsigned(claims: dict[str, Any], kid: str | None) -> str:
    """``alg: none`` with an empty signature."""
    header = {"alg": "none", "typ": "JWT", **({"kid": kid} if kid is not None else {})}
    return _signing_input(header, claims).decode() + "."


def hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """HMAC-SHA256 keyed with ``secret`` (the algorithm-confusion attack: the public key
    used as an HMAC secret). Built by hand: PyJWT refuses such keys, as it should."""
    signing_input = _signing_input({"alg": "HS256", "typ": "JWT", "kid": kid}, claims)
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{signing_input.decode()}.{b64url(signature)}"


def expired(claims: dict[str, Any], *, ago: int = 600) -> dict[str, Any]:
    """The same claims, expired ``ago`` seconds ago (well past the verifier's leeway)."""
    now = int(time.time())
    return {**claims, "iat": now - ago - 900, "nbf": now - ago - 905, "exp": now - ago}


def fresh(claims: dict[str, Any]) -> dict[str, Any]:
    """The same claims, valid for the next 10 minutes."""
    now = int(time.time())
    return {**claims, "iat": now, "nbf": now - 5, "exp": now + 600}
