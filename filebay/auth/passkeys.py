"""Passkeys (WebAuthn with py_webauthn): discoverable credentials with user verification
required, added on the account page and used to sign in without a user name or password.

Every ceremony's challenge is kept in the database for the browser that asked for it (by
the hash of a random cookie) and taken once. The relying party is FILEBAY_PUBLIC_URL's host
(the origin the browser must report is that URL's, or the auth service's own)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from filebay.catalog.identities import Identities, Passkey, WebauthnChallenge
from filebay.catalog.users import Directory, User
from filebay.config import Settings
from filebay.errors import BadRequest, Unauthorized

RP_NAME = "filebay"
#: How long the browser may take to answer (the person touches the key, types the PIN).
CEREMONY_SECONDS = 300
TIMEOUT_MS = 120_000


@dataclass(frozen=True, slots=True)
class RelyingParty:
    id: str
    origins: list[str]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def relying_party(settings: Settings, request_url: str) -> RelyingParty:
    """FILEBAY_PUBLIC_URL's host, or (unset) the host the request came to."""
    base = settings.public_url or request_url
    origins = {_origin(base)}
    if settings.auth_url:
        origins.add(_origin(settings.auth_url))
    return RelyingParty(urlsplit(base).hostname or "localhost", sorted(origins))


def user_handle(username: str) -> bytes:
    """The WebAuthn user id: opaque (not the name, which authenticators may show around)."""
    return hashlib.sha256(b"filebay-user\0" + username.encode()).digest()


async def _keep(
    identities: Identities, browser_hash: str, challenge: bytes, user: str | None
) -> None:
    expires = datetime.now(UTC) + timedelta(seconds=CEREMONY_SECONDS)
    kept = WebauthnChallenge(bytes_to_base64url(challenge), user)
    await identities.save_webauthn_challenge(browser_hash, kept, expires)


async def registration_options(
    identities: Identities, rp: RelyingParty, user: User, browser_hash: str
) -> str:
    """The options for ``navigator.credentials.create`` (JSON)."""
    existing = await identities.passkeys(user.username)
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=RP_NAME,
        user_name=user.username,
        user_id=user_handle(user.username),
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        # The same authenticator twice would be one passkey under two names.
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id)) for p in existing
        ],
    )
    await _keep(identities, browser_hash, options.challenge, user.username)
    return options_to_json(options)


async def register(
    identities: Identities,
    rp: RelyingParty,
    username: str,
    browser_hash: str,
    name: str,
    credential: dict[str, Any],
) -> Passkey:
    kept = await identities.take_webauthn_challenge(browser_hash, datetime.now(UTC))
    if kept is None or kept.username != username:
        raise BadRequest("this passkey registration is unknown or expired; start again")
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(kept.challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origins,
            require_user_verification=True,
        )
    except (WebAuthnException, KeyError, TypeError, ValueError) as exc:
        raise BadRequest(f"the passkey was not accepted: {exc}") from exc
    return await identities.add_passkey(
        username,
        name,
        bytes_to_base64url(verified.credential_id),
        bytes_to_base64url(verified.credential_public_key),
        verified.sign_count,
    )


async def authentication_options(
    identities: Identities, rp: RelyingParty, browser_hash: str
) -> str:
    """The options for ``navigator.credentials.get``: no credentials listed, the
    authenticator offers the user's discoverable ones."""
    options = generate_authentication_options(
        rp_id=rp.id, timeout=TIMEOUT_MS, user_verification=UserVerificationRequirement.REQUIRED
    )
    await _keep(identities, browser_hash, options.challenge, None)
    return options_to_json(options)


async def authenticate(
    identities: Identities,
    directory: Directory,
    rp: RelyingParty,
    browser_hash: str,
    credential: dict[str, Any],
) -> User:
    """The user whose passkey signed this browser's challenge; ``Unauthorized`` otherwise."""
    kept = await identities.take_webauthn_challenge(browser_hash, datetime.now(UTC))
    if kept is None or kept.username is not None:
        raise Unauthorized("this passkey sign-in is unknown or expired; start again")
    raw_id = credential.get("id")
    passkey = await identities.passkey_by_credential(raw_id) if isinstance(raw_id, str) else None
    if passkey is None:
        raise Unauthorized("this passkey is not known here")
    response = credential.get("response")
    handle = response.get("userHandle") if isinstance(response, dict) else None
    if handle is not None and handle != bytes_to_base64url(user_handle(passkey.username)):
        raise Unauthorized("this passkey belongs to someone else")
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(kept.challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origins,
            credential_public_key=base64url_to_bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except (WebAuthnException, KeyError, TypeError, ValueError) as exc:
        raise Unauthorized("the passkey's signature does not verify") from exc
    await identities.passkey_used(passkey.id, verified.new_sign_count)
    user = await directory.get_user(passkey.username)
    if user.disabled:
        raise Unauthorized("this account is disabled")
    return user
