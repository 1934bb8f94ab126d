"""The user directory contract: users, sessions, API tokens and login failures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

ROLES = ("admin", "user")


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: str
    quota_bytes: int | None
    disabled: bool
    sessions_valid_after: datetime
    created_at: datetime
    updated_at: datetime
    #: How many files (and unfinished uploads) the user may hold; None: no limit.
    quota_files: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def to_json(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "role": self.role,
            "quota_bytes": self.quota_bytes,
            "quota_files": self.quota_files,
            "disabled": self.disabled,
            "sessions_valid_after": self.sessions_valid_after.isoformat(),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> User:
        return cls(
            username=data["username"],
            role=data["role"],
            quota_bytes=data["quota_bytes"],
            disabled=bool(data["disabled"]),
            sessions_valid_after=datetime.fromisoformat(data["sessions_valid_after"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            updated_at=datetime.fromisoformat(data["updated_at"]),
            quota_files=data.get("quota_files"),
        )


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: str
    username: str
    name: str
    created_at: datetime
    last_used_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "username": self.username,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "last_used_at": (
                self.last_used_at.isoformat().replace("+00:00", "Z") if self.last_used_at else None
            ),
        }


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A session as its owner sees it. ``id`` is the hash of its secret (never the secret)."""

    id: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    user_agent: str | None
    address: str | None


class Unset:
    """Marks an update field that was not given (``None`` is a value: no quota)."""


UNSET: Any = Unset()


class Verifier(Protocol):
    """What every service needs to check a caller (cached by the caller for a few seconds)."""

    async def session_user(self, username: str, session_hash: str) -> User | None:
        """The user, if the session exists, has not expired and the user is enabled."""

    async def resolve_api_token(self, token_hash: str) -> User | None:
        """The enabled user owning the API token with this hash (and note its use)."""


class LoginLimiter(Protocol):
    """Failed-attempt counting shared by every replica (logins, share passwords).

    An attempt is counted before its password is checked, so parallel attempts cannot all
    pass a limit they would each meet one after another: it counts as a failure until the
    check shows otherwise, and then the caller takes it back."""

    async def reserve_login_attempt(self, keys: list[str], limits: list[int], window: int) -> int:
        """In one transaction: when every counter of ``keys`` is under its limit (within
        ``window`` seconds of its first failure), count one more on each of them and answer
        0; else count nothing and answer the seconds until the attempt may be made again."""

    async def release_login_attempt(self, uncount: list[str], reset: list[str]) -> None:
        """Take a reserved attempt back, in one transaction: one less on each counter of
        ``uncount`` (never below 0), and the counters of ``reset`` start again (deleted)."""


class Directory(Verifier, LoginLimiter, Protocol):
    """Users and their credentials. Only the auth side writes here."""

    async def count_users(self) -> int: ...

    async def create_user(
        self,
        username: str,
        password_hash: str,
        role: str,
        quota_bytes: int | None,
        *,
        disabled: bool = False,
        quota_files: int | None = None,
    ) -> User:
        """``Conflict`` when the name is taken."""

    async def get_user(self, username: str) -> User:
        """``NotFound`` when absent."""

    async def password_hash(self, username: str) -> str | None: ...

    async def list_users(self) -> list[User]: ...

    async def update_user(
        self,
        username: str,
        *,
        password_hash: str | None = None,
        role: str | None = None,
        quota_bytes: int | None = UNSET,
        disabled: bool | None = None,
        quota_files: int | None = UNSET,
    ) -> User:
        """A new password or disabling ends every session and API token of the user.
        ``LastAdmin`` when
        it would leave no enabled admin (checked in the same transaction as the change)."""

    async def delete_user(self, username: str) -> list[str]:
        """The user, their sessions, tokens and unfinished uploads, in one transaction; the
        ids of the cancelled uploads, whose staged bytes the caller removes (their files are
        the caller's business too). ``LastAdmin`` for the only enabled admin."""

    async def create_session(
        self,
        username: str,
        session_hash: str,
        expires_at: datetime,
        *,
        user_agent: str | None = None,
        address: str | None = None,
    ) -> None: ...

    async def list_sessions(self, username: str) -> list[SessionInfo]:
        """The user's unexpired sessions, the newest first."""

    async def end_sessions(self, username: str, session_hashes: list[str] | None) -> int:
        """End the user's sessions with these hashes (``None``: all); how many ended."""

    async def delete_session(self, session_hash: str) -> None: ...

    async def create_api_token(self, username: str, name: str, token_hash: str) -> ApiToken: ...

    async def list_api_tokens(self, username: str) -> list[ApiToken]: ...

    async def delete_api_tokens(self, username: str) -> int:
        """Revoke every API token of ``username``; how many there were."""

    async def delete_api_token(self, token_id: str, username: str) -> None:
        """``NotFound`` unless the token exists and belongs to ``username``."""
