"""TOTP codes (RFC 6238 with pyotp: SHA-1, 6 digits, 30 s, what authenticator apps
expect), their QR code (segno, SVG made here: no outside service ever sees the secret), and
recovery codes."""

from __future__ import annotations

import hmac
import io
import re
import secrets
import time

import pyotp
import segno

ISSUER_NAME = "filebay"
STEP_SECONDS = 30
#: Codes of the step before and after are accepted too (clocks drift, people type slowly).
DRIFT_STEPS = 1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
_RECOVERY_SHAPE = re.compile(r"[a-z0-9]{5}-[a-z0-9]{5}")
_TOTP_SHAPE = re.compile(r"[0-9]{6}")  # not \d: it matches other scripts' digits too


def new_secret() -> str:
    """160 random bits in base32 (RFC 4226 recommends the hash's size)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER_NAME)


def qr_svg(uri: str) -> str:
    """The URI as an SVG QR code, markup only (no XML declaration), to put in a page."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out,
        kind="svg",
        xmldecl=False,
        svgns=True,
        scale=5,
        border=2,
        light="#fff",  # scannable on the dark theme too
        title="TOTP QR code",
    )
    return out.getvalue().decode()


def normalize(code: str) -> str:
    """What people type: spaces and dashes between groups are not part of a TOTP code."""
    return re.sub(r"\s+", "", code).lower()


def looks_like_totp(code: str) -> bool:
    return bool(_TOTP_SHAPE.fullmatch(code))


def looks_like_recovery(code: str) -> bool:
    return bool(_RECOVERY_SHAPE.fullmatch(code))


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step whose code ``code`` is (within the allowed drift), or ``None``."""
    if not looks_like_totp(code):
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten codes of 10 characters (about 50 bits each), shown once, stored hashed."""
    return [
        "-".join("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(5)) for _ in range(2))
        for _ in range(RECOVERY_CODES)
    ]
