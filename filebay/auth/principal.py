"""The caller of a request, as every service sees it."""

from __future__ import annotations

from dataclasses import dataclass

ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    username: str
    is_admin: bool

    @property
    def scope(self) -> str | None:
        """The catalog owner filter: admins see every owner's files."""
        return None if self.is_admin else self.username


#: Until logins exist every request acts as the first user, ``admin``.
SINGLE_USER = Principal(username=ADMIN, is_admin=True)
