"""The auth service's signing keys (Ed25519) and their public JWKS."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_DIR = "jwt-keys"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def public_jwk(public: Ed25519PublicKey) -> dict[str, str]:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    jwk = {"crv": "Ed25519", "kty": "OKP", "x": _b64(raw)}
    # RFC 7638 thumbprint: SHA-256 of the required members, sorted, no whitespace.
    thumbprint = _b64(
        hashlib.sha256(json.dumps(jwk, sort_keys=True, separators=(",", ":")).encode()).digest()
    )
    return {**jwk, "kid": thumbprint, "alg": "EdDSA", "use": "sig"}


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    jwk: dict[str, str]

    @property
    def kid(self) -> str:
        return self.jwk["kid"]


def _load(path: Path) -> SigningKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return SigningKey(key, public_jwk(key.public_key()))


def _generate(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)  # another process may have won the race: keep theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


class KeyRing:
    """The key that signs, plus older public keys still accepted during a rotation.

    Keys are ``<data dir>/jwt-keys/*.pem`` (the newest file signs) or the one
    ``FILEBAY_JWT_PRIVATE_KEY_FILE``. Rotation: add a new PEM; keep the old one until the
    tokens it signed have expired (at most the session lifetime), then delete it.
    """

    def __init__(self, signing: SigningKey, others: list[SigningKey]) -> None:
        self.signing = signing
        self.keys = [signing, *others]

    @classmethod
    def load(cls, data_dir: Path, key_file: Path | None) -> KeyRing:
        if key_file is not None:
            return cls(_load(key_file), [])
        folder = data_dir / KEY_DIR
        pems = sorted(folder.glob("*.pem"), key=lambda p: (p.stat().st_mtime, p.name))
        if not pems:
            _generate(folder / "signing-1.pem")
            pems = sorted(folder.glob("*.pem"))
        loaded = [_load(p) for p in pems]
        return cls(loaded[-1], loaded[-2::-1])

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.jwk for k in self.keys]}
