"""The caller of a request, as every service sees it."""

from __future__ import annotations

from dataclasses import dataclass

from filebay.catalog.quota import Quota
from filebay.catalog.users import User

ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    username: str
    is_admin: bool
    quota_bytes: int | None = None
    #: "session" (browser cookie), "jwt" (bearer JWT), "api_token", or "single_user".
    via: str = "single_user"
    session_id: str | None = None
    quota_files: int | None = None
    #: Signed in, but may only set up a second factor first (FILEBAY_REQUIRE_MFA).
    enrol_only: bool = False

    @property
    def quota(self) -> Quota | None:
        """What the user may hold, for the catalog's quota rule (None: no limit)."""
        return Quota.of(self.quota_bytes, self.quota_files)

    @property
    def scope(self) -> str | None:
        """The catalog owner filter: admins see every owner's files."""
        return None if self.is_admin else self.username

    @classmethod
    def of(
        cls, user: User, via: str, session_id: str | None = None, *, enrol_only: bool = False
    ) -> Principal:
        return cls(
            user.username,
            user.is_admin,
            user.quota_bytes,
            via,
            session_id,
            user.quota_files,
            enrol_only,
        )


#: FILEBAY_AUTH=off: every request acts as ``admin``.
SINGLE_USER = Principal(username=ADMIN, is_admin=True)
