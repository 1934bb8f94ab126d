"""The user directory on SQL, sharing the catalog's engine (and its ``SessionRunner``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from filebay.catalog.sql.engine import SessionRunner, rowcount
from filebay.catalog.sql.files import unavailable_on_db_errors
from filebay.catalog.sql.models import (
    ApiTokenRow,
    FileRow,
    FolderRow,
    LoginFailureRow,
    MfaChallengeRow,
    NameRow,
    OidcIdentityRow,
    PasskeyRow,
    RecoveryCodeRow,
    SessionRow,
    TotpRow,
    TrashRow,
    UploadRow,
    UserRow,
)
from filebay.catalog.users import UNSET, ApiToken, SessionInfo, User
from filebay.errors import Conflict, LastAdmin, NotFound
from filebay.ids import new_id

# last_used_at is a hint for people, not an audit log: write it at most once a minute.
LAST_USED_RESOLUTION = timedelta(minutes=1)
#: What a deleted user's sign-ins leave behind (DESIGN §8.4).
SECOND_FACTORS = (OidcIdentityRow, TotpRow, RecoveryCodeRow, MfaChallengeRow, PasskeyRow)


def _user(row: UserRow) -> User:
    return User(
        username=row.username,
        role=row.role,
        quota_bytes=row.quota_bytes,
        quota_files=row.quota_files,
        disabled=row.disabled,
        sessions_valid_after=row.sessions_valid_after,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(
        id=row.id,
        username=row.username,
        name=row.name,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )


def _keep_an_admin(db: Session, username: str) -> None:
    """``LastAdmin`` if ``username`` is the only enabled admin. Runs in the write unit that
    removes them, before the change: on PostgreSQL the enabled admins' rows are locked (in
    one order, so two such units cannot deadlock) and a second demotion waits for the
    first, then sees its outcome; SQLite's write units are serialised (BEGIN IMMEDIATE)."""
    admins = db.scalars(
        select(UserRow.username)
        .where(UserRow.role == "admin", UserRow.disabled.is_(False))
        .order_by(UserRow.username)
        .with_for_update()
    ).all()
    if list(admins) == [username]:
        raise LastAdmin()


class SqlDirectory:
    def __init__(self, engine: AsyncEngine) -> None:
        self._run = SessionRunner.for_engine(engine)

    @unavailable_on_db_errors
    async def count_users(self) -> int:
        stmt = select(func.count()).select_from(UserRow)
        return int(await self._run.read(lambda db: db.scalar(stmt)) or 0)

    @unavailable_on_db_errors
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
        now = datetime.now(UTC)
        row = UserRow(
            username=username,
            password_hash=password_hash,
            role=role,
            quota_bytes=quota_bytes,
            quota_files=quota_files,
            disabled=disabled,
            sessions_valid_after=now,
            created_at=now,
            updated_at=now,
        )

        def work(db: Session) -> None:
            # Names differ by more than case: "Admin" beside "admin" is a look-alike that an
            # admin could trust or manage by mistake (logins still match the name exactly).
            taken = db.scalar(
                select(UserRow.username).where(func.lower(UserRow.username) == username.lower())
            )
            if taken is not None:
                raise Conflict(f"user {taken!r} exists")
            # A deleted account's late uploads (a service may trust its token for up to
            # FILEBAY_REVOCATION_SECONDS) must never pass to a new account of that name.
            leftover = db.scalar(select(FileRow.id).where(FileRow.owner == username).limit(1))
            if leftover is not None:
                raise Conflict(
                    f"files of a deleted account named {username!r} are still being "
                    "removed; try again in a few minutes"
                )
            # Likewise an upload such a token started after the account was deleted: it
            # belongs to nobody, and must never become the new account's (its staged bytes
            # are left for `filebay fsck --repair`).
            db.execute(delete(UploadRow).where(UploadRow.owner == username))
            db.add(row)

        try:
            await self._run.write(work)
        except IntegrityError as exc:
            raise Conflict(f"user {username!r} exists") from exc
        return _user(row)

    @unavailable_on_db_errors
    async def get_user(self, username: str) -> User:
        row = await self._run.read(lambda db: db.get(UserRow, username))
        if row is None:
            raise NotFound("no such user")
        return _user(row)

    @unavailable_on_db_errors
    async def password_hash(self, username: str) -> str | None:
        row = await self._run.read(lambda db: db.get(UserRow, username))
        return None if row is None else row.password_hash

    @unavailable_on_db_errors
    async def list_users(self) -> list[User]:
        stmt = select(UserRow).order_by(UserRow.username)
        return await self._run.read(lambda db: [_user(r) for r in db.scalars(stmt).all()])

    @unavailable_on_db_errors
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
        now = datetime.now(UTC)
        values: dict[str, Any] = {"updated_at": now}
        if password_hash is not None:
            values["password_hash"] = password_hash
        if role is not None:
            values["role"] = role
        if quota_bytes is not UNSET:
            values["quota_bytes"] = quota_bytes
        if quota_files is not UNSET:
            values["quota_files"] = quota_files
        if disabled is not None:
            values["disabled"] = disabled
        # A new password or disabling shuts the user out: sessions and API tokens end (an
        # intruder's token must not survive a reset, nor come back with re-enabling).
        ends_sessions = password_hash is not None or disabled is True
        if ends_sessions:
            values["sessions_valid_after"] = now
        may_lose_admin = role not in (None, "admin") or disabled is True

        def work(db: Session) -> User:
            if may_lose_admin:
                _keep_an_admin(db, username)
            row = db.execute(
                update(UserRow)
                .where(UserRow.username == username)
                .values(**values)
                .returning(UserRow)
            ).scalar_one_or_none()
            if row is None:
                raise NotFound("no such user")
            if ends_sessions:
                db.execute(delete(SessionRow).where(SessionRow.username == username))
                db.execute(delete(ApiTokenRow).where(ApiTokenRow.username == username))
            return _user(row)

        return await self._run.write(work)

    @unavailable_on_db_errors
    async def delete_user(self, username: str) -> list[str]:
        def work(db: Session) -> list[str]:
            _keep_an_admin(db, username)
            if rowcount(db, delete(UserRow).where(UserRow.username == username)) == 0:
                raise NotFound("no such user")
            db.execute(delete(SessionRow).where(SessionRow.username == username))
            db.execute(delete(ApiTokenRow).where(ApiTokenRow.username == username))
            # Its sign-in links and second factors: a later account of that name must not
            # inherit them (an old SSO identity would sign in as it).
            for table in SECOND_FACTORS:
                db.execute(delete(table).where(table.username == username))
            # Its folders go now (its files go one by one after, freeing their names).
            folders = select(FolderRow.id).where(FolderRow.owner == username)
            db.execute(delete(NameRow).where(NameRow.entry_id.in_(folders)))
            db.execute(delete(FolderRow).where(FolderRow.owner == username))
            # Its trash items (their files go with the others, below).
            db.execute(delete(TrashRow).where(TrashRow.owner == username))
            # Unfinished uploads die with the account: a new account of the same name must
            # not finish, read or be charged for them.
            cancelled = db.scalars(
                delete(UploadRow).where(UploadRow.owner == username).returning(UploadRow.id)
            )
            return list(cancelled.all())

        return await self._run.write(work)

    @unavailable_on_db_errors
    async def create_session(
        self,
        username: str,
        session_hash: str,
        expires_at: datetime,
        *,
        user_agent: str | None = None,
        address: str | None = None,
    ) -> None:
        now = datetime.now(UTC)
        row = SessionRow(
            id_hash=session_hash,
            username=username,
            created_at=now,
            expires_at=expires_at,
            user_agent=user_agent[:512] if user_agent else None,
            address=address[:64] if address else None,
            last_used_at=now,
        )

        def work(db: Session) -> None:
            db.add(row)
            # Opportunistic cleanup keeps the table small without a separate job.
            db.execute(delete(SessionRow).where(SessionRow.expires_at < now))

        await self._run.write(work)

    @unavailable_on_db_errors
    async def delete_session(self, session_hash: str) -> None:
        stmt = delete(SessionRow).where(SessionRow.id_hash == session_hash)
        await self._run.write(lambda db: db.execute(stmt))

    @unavailable_on_db_errors
    async def session_user(self, username: str, session_hash: str) -> User | None:
        now = datetime.now(UTC)
        stmt = (
            select(UserRow, SessionRow.last_used_at)
            .join(SessionRow, SessionRow.username == UserRow.username)
            .where(
                SessionRow.id_hash == session_hash,
                SessionRow.username == username,
                SessionRow.expires_at > now,
                UserRow.disabled.is_(False),
            )
        )
        found = await self._run.read(lambda db: db.execute(stmt).first())
        if found is None:
            return None
        row, last_used = found
        if last_used is None or now - last_used > LAST_USED_RESOLUTION:
            # A hint for its owner, like an API token's: written at most once a minute.
            touch = (
                update(SessionRow)
                .where(SessionRow.id_hash == session_hash)
                .values(last_used_at=now)
            )
            await self._run.write(lambda db: db.execute(touch))
        return _user(row)

    @unavailable_on_db_errors
    async def list_sessions(self, username: str) -> list[SessionInfo]:
        now = datetime.now(UTC)
        stmt = (
            select(SessionRow)
            .where(SessionRow.username == username, SessionRow.expires_at > now)
            .order_by(SessionRow.created_at.desc(), SessionRow.id_hash)
        )
        return await self._run.read(
            lambda db: [
                SessionInfo(
                    id=r.id_hash,
                    created_at=r.created_at,
                    expires_at=r.expires_at,
                    last_used_at=r.last_used_at,
                    user_agent=r.user_agent,
                    address=r.address,
                )
                for r in db.scalars(stmt)
            ]
        )

    @unavailable_on_db_errors
    async def end_sessions(self, username: str, session_hashes: list[str] | None) -> int:
        stmt = delete(SessionRow).where(SessionRow.username == username)
        if session_hashes is not None:
            stmt = stmt.where(SessionRow.id_hash.in_(session_hashes))
        return await self._run.write(lambda db: rowcount(db, stmt))

    @unavailable_on_db_errors
    async def create_api_token(self, username: str, name: str, token_hash: str) -> ApiToken:
        row = ApiTokenRow(
            id=new_id(),
            username=username,
            name=name,
            token_hash=token_hash,
            created_at=datetime.now(UTC),
            last_used_at=None,
        )
        await self._run.write(lambda db: db.add(row))
        return _token(row)

    @unavailable_on_db_errors
    async def list_api_tokens(self, username: str) -> list[ApiToken]:
        stmt = (
            select(ApiTokenRow)
            .where(ApiTokenRow.username == username)
            .order_by(ApiTokenRow.created_at)
        )
        return await self._run.read(lambda db: [_token(r) for r in db.scalars(stmt).all()])

    @unavailable_on_db_errors
    async def delete_api_tokens(self, username: str) -> int:
        stmt = delete(ApiTokenRow).where(ApiTokenRow.username == username)
        return await self._run.write(lambda db: rowcount(db, stmt))

    @unavailable_on_db_errors
    async def delete_api_token(self, token_id: str, username: str) -> None:
        stmt = delete(ApiTokenRow).where(
            ApiTokenRow.id == token_id, ApiTokenRow.username == username
        )
        if await self._run.write(lambda db: rowcount(db, stmt)) == 0:
            raise NotFound("no such token")

    @unavailable_on_db_errors
    async def resolve_api_token(self, token_hash: str) -> User | None:
        now = datetime.now(UTC)
        stmt = (
            select(ApiTokenRow, UserRow)
            .join(UserRow, UserRow.username == ApiTokenRow.username)
            .where(ApiTokenRow.token_hash == token_hash, UserRow.disabled.is_(False))
        )

        def work(db: Session) -> User | None:
            found = db.execute(stmt).first()
            if found is None:
                return None
            token, user = found
            if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
                token.last_used_at = now
            return _user(user)

        return await self._run.write(work)

    @unavailable_on_db_errors
    async def reserve_login_attempt(self, keys: list[str], limits: list[int], window: int) -> int:
        if len(keys) != len(limits):
            raise ValueError("one limit per key")
        now = datetime.now(UTC)
        span = timedelta(seconds=window)
        limit_of = dict(zip(keys, limits, strict=True))
        order = sorted(limit_of)  # one lock order for every unit: no deadlocks

        def work(db: Session) -> int:
            # Every counter gets its row first (a no-op where it exists), so that the rows
            # can be locked: two first attempts at once must not both see "no failures".
            # On PostgreSQL the rows stay locked until this unit commits; on SQLite the
            # unit holds the database's write lock from its start (BEGIN IMMEDIATE).
            insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
            db.execute(
                insert(LoginFailureRow)
                .values([{"key": key, "count": 0, "window_start": now} for key in order])
                .on_conflict_do_nothing(index_elements=["key"])
            )
            rows = {
                row.key: row
                for row in db.scalars(
                    select(LoginFailureRow)
                    .where(LoginFailureRow.key.in_(order))
                    .order_by(LoginFailureRow.key)
                    .with_for_update()
                )
            }
            wait = 0
            for key in order:
                row = rows.get(key)
                if row is None or now - row.window_start > span:
                    continue
                if row.count >= limit_of[key]:
                    ends = row.window_start + span
                    wait = max(wait, int((ends - now).total_seconds()) + 1)
            if wait:
                return wait
            for key in order:
                row = rows.get(key)
                if row is None:  # cleared by a success between the insert and the lock
                    db.add(LoginFailureRow(key=key, count=1, window_start=now))
                elif now - row.window_start > span or row.count == 0:
                    row.count, row.window_start = 1, now
                else:
                    row.count += 1
            return 0

        for attempt in range(3):
            try:
                return await self._run.write(work)
            except IntegrityError:
                # A row deleted and inserted again by other units meanwhile; the retry locks it.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    @unavailable_on_db_errors
    async def release_login_attempt(self, uncount: list[str], reset: list[str]) -> None:
        order = sorted({*uncount, *reset})
        if not order:
            return

        def work(db: Session) -> None:
            rows = db.scalars(
                select(LoginFailureRow)
                .where(LoginFailureRow.key.in_(order))
                .order_by(LoginFailureRow.key)
                .with_for_update()
            ).all()
            for row in rows:
                if row.key in reset:
                    db.delete(row)
                elif row.count > 0:
                    row.count -= 1

        await self._run.write(work)
