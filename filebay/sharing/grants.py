"""Cookie grants of a share link: what a browser holds after unlocking a link's password
("unlock") and after its first counted download ("ticket", see ``filebay.sharing.downloads``).

A grant is ``<expires>.<HMAC-SHA256>`` over its purpose, the link's id, the link's password
hash and the expiry, under a key of its own (``FILEBAY_SHARE_COOKIE_KEY``, or
``share_cookie_key`` generated in the data dir): not the service token, which no browser
secret should depend on. Binding the password hash means a new password voids old unlocks;
binding the link id means a grant opens neither another link nor a new link for the same
file. Only the service that serves ``/s/…`` (download, or all-in-one) holds the key.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from filebay.catalog.shares import Share
from filebay.config import Settings
from filebay.sharing.links import link_path

UNLOCK_SECONDS = 12 * 3600
TICKET_SECONDS = 24 * 3600


class Purpose(StrEnum):
    unlock = "unlock"  # the link's password was given
    ticket = "ticket"  # this client's download was counted


LIFETIMES = {Purpose.unlock: UNLOCK_SECONDS, Purpose.ticket: TICKET_SECONDS}


@dataclass(frozen=True, slots=True)
class GrantCookie:
    """A cookie to set: HttpOnly, SameSite=Lax, scoped to the link's own path."""

    name: str
    value: str
    max_age: int
    path: str


def cookie_name(purpose: Purpose, share: Share) -> str:
    return f"filebay_{purpose.value}_{share.id[:12]}"


class ShareGrants:
    """Issues and checks a link's cookie grants with one key."""

    __slots__ = ("_key",)

    def __init__(self, key: str) -> None:
        if not key:
            raise ValueError("a share cookie key must not be empty")
        self._key = key.encode()

    @classmethod
    def from_settings(cls, settings: Settings) -> ShareGrants:
        """With ``FILEBAY_SHARE_COOKIE_KEY``, or the key generated once in the data dir."""
        return cls(settings.resolved_share_cookie_key())

    def __repr__(self) -> str:  # never the key
        return "ShareGrants(<key>)"

    def _sign(self, purpose: Purpose, share: Share, expires: int) -> str:
        message = f"{purpose.value}|{share.id}|{share.password_hash or ''}|{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def issue(
        self, purpose: Purpose, share: Share, token: str, *, now: float | None = None
    ) -> GrantCookie:
        """The cookie that grants ``purpose`` on ``share`` (reached by ``token``)."""
        seconds = LIFETIMES[purpose]
        expires = int(time.time() if now is None else now) + seconds
        return GrantCookie(
            name=cookie_name(purpose, share),
            value=f"{expires}.{self._sign(purpose, share, expires)}",
            max_age=seconds,
            path=link_path(token),
        )

    def holds(
        self,
        purpose: Purpose,
        share: Share,
        cookies: Mapping[str, str],
        *,
        now: float | None = None,
    ) -> bool:
        """Whether ``cookies`` carry an unexpired grant of ``purpose`` for this very link,
        with its present password. Anything malformed is no grant."""
        value = cookies.get(cookie_name(purpose, share))
        if not value or "." not in value:
            return False
        expires_text, signature = value.split(".", 1)
        # (A cookie is any Latin-1 text: "²" is a digit to isdigit() and not to int(), and
        # compare_digest() refuses non-ASCII strings.)
        if not (value.isascii() and expires_text.isdigit()):
            return False
        expires = int(expires_text)
        if expires < (time.time() if now is None else now):
            return False
        return hmac.compare_digest(self._sign(purpose, share, expires), signature)

    def unlocked(self, share: Share, cookies: Mapping[str, str]) -> bool:
        """A link without a password is open; one with a password needs an unlock grant."""
        return share.password_hash is None or self.holds(Purpose.unlock, share, cookies)
