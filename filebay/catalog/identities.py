"""The identities contract: how a user proves who they are beyond a password: single
sign-on links and the sign-ins under way, TOTP secrets, recovery codes, and the password
logins waiting for their second factor.

Only the auth side (all-in-one, the auth service) has it: the database is local there."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from filebay.catalog.users import User


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    """An authorization request sent to the provider, waiting for its callback. Its key is
    the hash of ``state``; ``browser_hash`` binds it to the cookie of the browser that
    started it (a callback carried to another browser finds nothing)."""

    state_hash: str
    browser_hash: str
    nonce: str
    code_verifier: str
    next_url: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Totp:
    secret: str
    confirmed: bool
    #: The time step of the last code accepted (a code is good once).
    last_step: int | None


@dataclass(frozen=True, slots=True)
class RecoveryCode:
    id: str
    code_hash: str


@dataclass(frozen=True, slots=True)
class MfaChallenge:
    username: str
    browser: bool
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Passkey:
    id: str
    username: str
    name: str
    #: base64url of the credential id and of its COSE public key
    credential_id: str
    public_key: str
    sign_count: int
    created_at: datetime
    last_used_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        """What its owner sees (never the key)."""
        return {
            "id": self.id,
            "name": self.name,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "last_used_at": (
                self.last_used_at.isoformat().replace("+00:00", "Z") if self.last_used_at else None
            ),
        }


@dataclass(frozen=True, slots=True)
class WebauthnChallenge:
    challenge: str
    #: None for a sign-in; the user adding a passkey otherwise.
    username: str | None


class Identities(Protocol):
    async def save_sign_in(self, pending: PendingSignIn) -> None:
        """Keep a sign-in under way (and drop the expired ones)."""

    async def take_sign_in(self, state_hash: str, now: datetime) -> PendingSignIn | None:
        """The sign-in with this state, deleted in the same unit: a state is good once.
        ``None`` when unknown, used or expired."""

    async def linked_user(self, issuer: str, subject: str) -> User | None:
        """The user linked to (issuer, subject), if any; never matched by name or e-mail."""

    async def create_linked_user(
        self, issuer: str, subject: str, username: str, role: str, password_hash: str
    ) -> User:
        """A new user linked to (issuer, subject), in one unit. ``Conflict`` when the name
        is taken (by another account: it is never linked to it) or the identity is linked."""

    async def totp(self, username: str) -> Totp | None: ...

    async def begin_totp(self, username: str, secret: str) -> None:
        """A new, unconfirmed secret (replacing an unconfirmed one). ``Conflict`` when the
        user's TOTP is on already."""

    async def confirm_totp(self, username: str, step: int, recovery_hashes: list[str]) -> bool:
        """Turn the unconfirmed secret on, its code of ``step`` spent, with these recovery
        codes (replacing any), in one unit; ``False`` when there is nothing to confirm."""

    async def spend_totp_step(self, username: str, step: int) -> bool:
        """Record a code of ``step`` as used: ``False`` when a code of this step or a later
        one was accepted already (a replay), checked and written in one statement."""

    async def recovery_codes(self, username: str) -> list[RecoveryCode]:
        """The unused ones."""

    async def spend_recovery_code(self, code_id: str) -> bool:
        """Mark it used; ``False`` when it was used already."""

    async def remove_second_factors(self, username: str) -> bool:
        """TOTP, recovery codes and pending challenges of the user gone; whether TOTP was on."""

    async def create_challenge(
        self, token_hash: str, username: str, browser: bool, expires_at: datetime
    ) -> None: ...

    async def challenge(self, token_hash: str, now: datetime) -> MfaChallenge | None:
        """The unexpired challenge with this hash."""

    async def end_challenge(self, token_hash: str) -> bool:
        """Delete it; ``False`` when another request ended it first."""

    async def add_passkey(
        self, username: str, name: str, credential_id: str, public_key: str, sign_count: int
    ) -> Passkey:
        """``Conflict`` when that credential is registered already."""

    async def passkeys(self, username: str) -> list[Passkey]: ...

    async def passkey_by_credential(self, credential_id: str) -> Passkey | None: ...

    async def passkey_used(self, passkey_id: str, sign_count: int) -> None:
        """Note a sign-in with it (its new signature counter, the time)."""

    async def remove_passkey(self, passkey_id: str, username: str) -> None:
        """``NotFound`` unless it exists and is ``username``'s."""

    async def save_webauthn_challenge(
        self, browser_hash: str, challenge: WebauthnChallenge, expires_at: datetime
    ) -> None:
        """Keep it for the browser (replacing the browser's earlier one)."""

    async def take_webauthn_challenge(
        self, browser_hash: str, now: datetime
    ) -> WebauthnChallenge | None:
        """The browser's challenge, deleted in the same unit (good once); ``None`` when
        absent or expired."""
