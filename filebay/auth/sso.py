"""Single sign-on with OpenID Connect (DESIGN §8.4): starting a sign-in, and finishing it
into a filebay user.

The sign-in under way is kept in the database under the hash of its ``state`` and bound to
the browser that started it by a random cookie (only its hash is stored): a callback URL
carried to another browser, replayed, or with a made-up state finds nothing. Users are
created at their first sign-in and found again by (issuer, ``sub``) only.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from filebay.auth.accounts import USERNAME
from filebay.auth.oidc import OidcProvider, ProviderConfig, pkce_pair
from filebay.auth.secrets import secret_hash
from filebay.catalog.identities import Identities, PendingSignIn
from filebay.catalog.users import Directory, User
from filebay.config import Settings
from filebay.errors import Conflict, Forbidden, LastAdmin, SsoFailed

log = logging.getLogger("filebay")

#: The cookie that binds a sign-in under way to its browser.
BROWSER_COOKIE = "filebay_sso"
#: How long a person may take at the provider (a login form, a consent page).
SIGN_IN_SECONDS = 600
#: The claim of group names that FILEBAY_OIDC_ADMIN_GROUPS is matched against.
GROUPS_CLAIM = "groups"
#: The password hash of a user made by single sign-on: no password verifies against it.
NO_PASSWORD = "!sso"
CALLBACK_PATH = "/api/auth/oidc/callback"


def provider_config(settings: Settings) -> ProviderConfig | None:
    """The configured provider, or ``None`` when single sign-on is off."""
    if not settings.oidc_issuer or not settings.oidc_client_id:
        return None
    secret = settings.oidc_client_secret
    return ProviderConfig(
        issuer=settings.oidc_issuer,
        client_id=settings.oidc_client_id,
        client_secret=secret.get_secret_value() if secret else None,
        scopes=settings.oidc_scopes,
    )


def admin_groups(settings: Settings) -> frozenset[str] | None:
    """FILEBAY_OIDC_ADMIN_GROUPS as a set; ``None`` when roles are not the provider's."""
    if not settings.oidc_admin_groups:
        return None
    return frozenset(g.strip() for g in settings.oidc_admin_groups.split(",") if g.strip())


@dataclass(frozen=True, slots=True)
class Started:
    """Where to send the browser, and the secret its cookie keeps for the callback."""

    url: str
    browser_secret: str


async def start_sign_in(
    identities: Identities, provider: OidcProvider, redirect_uri: str, next_url: str
) -> Started:
    state, nonce, browser = (secrets.token_urlsafe(32) for _ in range(3))
    verifier, challenge = pkce_pair()
    url = await provider.authorization_url(redirect_uri, state, nonce, challenge)
    await identities.save_sign_in(
        PendingSignIn(
            state_hash=secret_hash(state),
            browser_hash=secret_hash(browser),
            nonce=nonce,
            code_verifier=verifier,
            next_url=next_url,
            expires_at=datetime.now(UTC) + timedelta(seconds=SIGN_IN_SECONDS),
        )
    )
    return Started(url, browser)


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    next_url: str


async def finish_sign_in(
    identities: Identities,
    directory: Directory,
    provider: OidcProvider,
    settings: Settings,
    *,
    state: str,
    code: str,
    browser_secret: str | None,
    redirect_uri: str,
) -> SignedIn:
    """The user the provider vouches for; ``SsoFailed`` (400) when anything does not check
    out, ``Forbidden`` (403) for a disabled account or a name taken by another account."""
    pending = await identities.take_sign_in(secret_hash(state), datetime.now(UTC))
    if pending is None:
        raise SsoFailed("this sign-in is unknown, used already or expired; start again")
    if not browser_secret or not hmac.compare_digest(
        secret_hash(browser_secret), pending.browser_hash
    ):
        raise SsoFailed("this sign-in was started in another browser; start again")
    tokens = await provider.exchange(code, redirect_uri, pending.code_verifier, pending.nonce)
    claims = dict(tokens.claims)
    subject: str = claims["sub"]
    groups = admin_groups(settings)
    wanted = [settings.oidc_username_claim, *([GROUPS_CLAIM] if groups is not None else [])]
    if any(name not in claims for name in wanted) and tokens.access_token:
        # Many providers put profile claims only in userinfo; the ID token's win.
        claims = {**await provider.userinfo(tokens.access_token, subject), **claims}
    name, role = claims.get(settings.oidc_username_claim), _role(claims, groups)
    user = await _user_of(identities, directory, provider.config.issuer, subject, name, role)
    if user.disabled:
        raise Forbidden("this account is disabled")
    return SignedIn(user, pending.next_url)


def _role(claims: dict[str, Any], groups: frozenset[str] | None) -> str | None:
    """The role the provider's groups give (``None``: the provider does not decide)."""
    if groups is None:
        return None
    member_of = claims.get(GROUPS_CLAIM)
    if isinstance(member_of, str):
        member_of = [member_of]
    names = {g for g in member_of if isinstance(g, str)} if isinstance(member_of, list) else set()
    return "admin" if names & groups else "user"


async def _user_of(
    identities: Identities,
    directory: Directory,
    issuer: str,
    subject: str,
    name: object,
    role: str | None,
) -> User:
    user = await identities.linked_user(issuer, subject)
    if user is None:
        if not isinstance(name, str) or not USERNAME.fullmatch(name):
            raise SsoFailed("the identity provider gave no usable user name")
        try:
            return await identities.create_linked_user(
                issuer, subject, name, role or "user", NO_PASSWORD
            )
        except Conflict as exc:
            # Never linked by name: that would hand a local account to whoever the
            # provider calls by its name.
            raise Forbidden(
                f"an account named {name!r} exists in filebay and is not linked to this "
                "sign-in; ask an administrator"
            ) from exc
    if role is not None and role != user.role and not user.disabled:
        try:
            user = await directory.update_user(user.username, role=role)
        except LastAdmin:
            log.warning("sso: %s left the admin groups but is the last admin", user.username)
    return user
