"""Single sign-on links and sign-ins under way on SQL (the catalog's engine)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from filebay.catalog.identities import (
    MfaChallenge,
    Passkey,
    PendingSignIn,
    RecoveryCode,
    Totp,
    WebauthnChallenge,
)
from filebay.catalog.sql.engine import SessionRunner, rowcount
from filebay.catalog.sql.files import unavailable_on_db_errors
from filebay.catalog.sql.models import (
    MfaChallengeRow,
    OidcIdentityRow,
    OidcSignInRow,
    PasskeyRow,
    RecoveryCodeRow,
    TotpRow,
    UserRow,
    WebauthnChallengeRow,
)
from filebay.catalog.sql.users import _user
from filebay.catalog.users import User
from filebay.errors import Conflict, NotFound
from filebay.ids import new_id


def _passkey(row: PasskeyRow) -> Passkey:
    return Passkey(
        id=row.id,
        username=row.username,
        name=row.name,
        credential_id=row.credential_id,
        public_key=row.public_key,
        sign_count=row.sign_count,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )


def _pending(row: OidcSignInRow) -> PendingSignIn:
    return PendingSignIn(
        state_hash=row.state_hash,
        browser_hash=row.browser_hash,
        nonce=row.nonce,
        code_verifier=row.code_verifier,
        next_url=row.next_url,
        expires_at=row.expires_at,
    )


class SqlIdentities:
    def __init__(self, engine: AsyncEngine) -> None:
        self._run = SessionRunner.for_engine(engine)

    @unavailable_on_db_errors
    async def save_sign_in(self, pending: PendingSignIn) -> None:
        now = datetime.now(UTC)
        row = OidcSignInRow(
            state_hash=pending.state_hash,
            browser_hash=pending.browser_hash,
            nonce=pending.nonce,
            code_verifier=pending.code_verifier,
            next_url=pending.next_url,
            expires_at=pending.expires_at,
        )

        def work(db: Session) -> None:
            # Abandoned sign-ins go here: no job of their own.
            db.execute(delete(OidcSignInRow).where(OidcSignInRow.expires_at < now))
            db.add(row)

        await self._run.write(work)

    @unavailable_on_db_errors
    async def take_sign_in(self, state_hash: str, now: datetime) -> PendingSignIn | None:
        stmt = (
            delete(OidcSignInRow)
            .where(OidcSignInRow.state_hash == state_hash)
            .returning(OidcSignInRow)
        )

        def work(db: Session) -> PendingSignIn | None:
            # DELETE … RETURNING: of two callbacks with one state, one gets the row.
            row = db.execute(stmt).scalar_one_or_none()
            if row is None or row.expires_at <= now:
                return None
            return _pending(row)

        return await self._run.write(work)

    @unavailable_on_db_errors
    async def linked_user(self, issuer: str, subject: str) -> User | None:
        now = datetime.now(UTC)

        def work(db: Session) -> User | None:
            link = db.get(OidcIdentityRow, (issuer, subject))
            if link is None:
                return None
            user = db.get(UserRow, link.username)
            if user is None:  # the account was deleted: the link goes with it
                db.delete(link)
                return None
            link.last_login_at = now
            return _user(user)

        return await self._run.write(work)

    @unavailable_on_db_errors
    async def create_linked_user(
        self, issuer: str, subject: str, username: str, role: str, password_hash: str
    ) -> User:
        now = datetime.now(UTC)
        user = UserRow(
            username=username,
            password_hash=password_hash,
            role=role,
            quota_bytes=None,
            quota_files=None,
            disabled=False,
            sessions_valid_after=now,
            created_at=now,
            updated_at=now,
        )
        link = OidcIdentityRow(
            issuer=issuer, subject=subject, username=username, created_at=now, last_login_at=now
        )

        def work(db: Session) -> User:
            taken = db.scalar(
                select(UserRow.username).where(func.lower(UserRow.username) == username.lower())
            )
            if taken is not None:
                raise Conflict(f"an account named {taken!r} exists already")
            db.add(user)
            db.add(link)
            db.flush()
            return _user(user)

        try:
            return await self._run.write(work)
        except IntegrityError as exc:
            raise Conflict(f"an account named {username!r} exists already") from exc

    @unavailable_on_db_errors
    async def totp(self, username: str) -> Totp | None:
        row = await self._run.read(lambda db: db.get(TotpRow, username))
        if row is None:
            return None
        return Totp(row.secret, row.confirmed_at is not None, row.last_step)

    @unavailable_on_db_errors
    async def begin_totp(self, username: str, secret: str) -> None:
        now = datetime.now(UTC)

        def work(db: Session) -> None:
            row = db.get(TotpRow, username)
            if row is not None and row.confirmed_at is not None:
                raise Conflict("two-step login is on already; turn it off first")
            if row is not None:
                db.delete(row)
                db.flush()
            db.add(TotpRow(username=username, secret=secret, created_at=now))

        await self._run.write(work)

    @unavailable_on_db_errors
    async def confirm_totp(self, username: str, step: int, recovery_hashes: list[str]) -> bool:
        now = datetime.now(UTC)
        stmt = (
            update(TotpRow)
            .where(TotpRow.username == username, TotpRow.confirmed_at.is_(None))
            .values(confirmed_at=now, last_step=step)
        )

        def work(db: Session) -> bool:
            if rowcount(db, stmt) != 1:
                return False
            db.execute(delete(RecoveryCodeRow).where(RecoveryCodeRow.username == username))
            db.add_all(
                RecoveryCodeRow(id=new_id(), username=username, code_hash=h)
                for h in recovery_hashes
            )
            return True

        return await self._run.write(work)

    @unavailable_on_db_errors
    async def spend_totp_step(self, username: str, step: int) -> bool:
        # One conditional UPDATE: of two requests with the same code, one wins.
        stmt = (
            update(TotpRow)
            .where(
                TotpRow.username == username,
                TotpRow.confirmed_at.is_not(None),
                or_(TotpRow.last_step.is_(None), TotpRow.last_step < step),
            )
            .values(last_step=step)
        )
        return await self._run.write(lambda db: rowcount(db, stmt)) == 1

    @unavailable_on_db_errors
    async def recovery_codes(self, username: str) -> list[RecoveryCode]:
        stmt = select(RecoveryCodeRow).where(
            RecoveryCodeRow.username == username, RecoveryCodeRow.used_at.is_(None)
        )
        return await self._run.read(
            lambda db: [RecoveryCode(r.id, r.code_hash) for r in db.scalars(stmt)]
        )

    @unavailable_on_db_errors
    async def spend_recovery_code(self, code_id: str) -> bool:
        stmt = (
            update(RecoveryCodeRow)
            .where(RecoveryCodeRow.id == code_id, RecoveryCodeRow.used_at.is_(None))
            .values(used_at=datetime.now(UTC))
        )
        return await self._run.write(lambda db: rowcount(db, stmt)) == 1

    @unavailable_on_db_errors
    async def remove_second_factors(self, username: str) -> bool:
        def work(db: Session) -> bool:
            was_on = db.scalar(
                select(TotpRow.username).where(
                    TotpRow.username == username, TotpRow.confirmed_at.is_not(None)
                )
            )
            for table in (TotpRow, RecoveryCodeRow, MfaChallengeRow):
                db.execute(delete(table).where(table.username == username))
            return was_on is not None

        return await self._run.write(work)

    @unavailable_on_db_errors
    async def create_challenge(
        self, token_hash: str, username: str, browser: bool, expires_at: datetime
    ) -> None:
        now = datetime.now(UTC)
        row = MfaChallengeRow(
            token_hash=token_hash, username=username, browser=browser, expires_at=expires_at
        )

        def work(db: Session) -> None:
            db.execute(delete(MfaChallengeRow).where(MfaChallengeRow.expires_at < now))
            db.add(row)

        await self._run.write(work)

    @unavailable_on_db_errors
    async def challenge(self, token_hash: str, now: datetime) -> MfaChallenge | None:
        row = await self._run.read(lambda db: db.get(MfaChallengeRow, token_hash))
        if row is None or row.expires_at <= now:
            return None
        return MfaChallenge(row.username, row.browser, row.expires_at)

    @unavailable_on_db_errors
    async def end_challenge(self, token_hash: str) -> bool:
        stmt = delete(MfaChallengeRow).where(MfaChallengeRow.token_hash == token_hash)
        return await self._run.write(lambda db: rowcount(db, stmt)) == 1

    @unavailable_on_db_errors
    async def add_passkey(
        self, username: str, name: str, credential_id: str, public_key: str, sign_count: int
    ) -> Passkey:
        row = PasskeyRow(
            id=new_id(),
            username=username,
            name=name,
            credential_id=credential_id,
            public_key=public_key,
            sign_count=sign_count,
            created_at=datetime.now(UTC),
            last_used_at=None,
        )
        try:
            await self._run.write(lambda db: db.add(row))
        except IntegrityError as exc:
            raise Conflict("this passkey is registered already") from exc
        return _passkey(row)

    @unavailable_on_db_errors
    async def passkeys(self, username: str) -> list[Passkey]:
        stmt = (
            select(PasskeyRow)
            .where(PasskeyRow.username == username)
            .order_by(PasskeyRow.created_at, PasskeyRow.id)
        )
        return await self._run.read(lambda db: [_passkey(r) for r in db.scalars(stmt)])

    @unavailable_on_db_errors
    async def passkey_by_credential(self, credential_id: str) -> Passkey | None:
        stmt = select(PasskeyRow).where(PasskeyRow.credential_id == credential_id)
        row = await self._run.read(lambda db: db.scalar(stmt))
        return None if row is None else _passkey(row)

    @unavailable_on_db_errors
    async def passkey_used(self, passkey_id: str, sign_count: int) -> None:
        stmt = (
            update(PasskeyRow)
            .where(PasskeyRow.id == passkey_id)
            .values(sign_count=sign_count, last_used_at=datetime.now(UTC))
        )
        await self._run.write(lambda db: db.execute(stmt))

    @unavailable_on_db_errors
    async def remove_passkey(self, passkey_id: str, username: str) -> None:
        stmt = delete(PasskeyRow).where(
            PasskeyRow.id == passkey_id, PasskeyRow.username == username
        )
        if await self._run.write(lambda db: rowcount(db, stmt)) == 0:
            raise NotFound("no such passkey")

    @unavailable_on_db_errors
    async def save_webauthn_challenge(
        self, browser_hash: str, challenge: WebauthnChallenge, expires_at: datetime
    ) -> None:
        now = datetime.now(UTC)
        row = WebauthnChallengeRow(
            browser_hash=browser_hash,
            challenge=challenge.challenge,
            username=challenge.username,
            expires_at=expires_at,
        )

        def work(db: Session) -> None:
            db.execute(
                delete(WebauthnChallengeRow).where(
                    or_(
                        WebauthnChallengeRow.expires_at < now,
                        WebauthnChallengeRow.browser_hash == browser_hash,
                    )
                )
            )
            db.add(row)

        await self._run.write(work)

    @unavailable_on_db_errors
    async def take_webauthn_challenge(
        self, browser_hash: str, now: datetime
    ) -> WebauthnChallenge | None:
        stmt = (
            delete(WebauthnChallengeRow)
            .where(WebauthnChallengeRow.browser_hash == browser_hash)
            .returning(WebauthnChallengeRow)
        )

        def work(db: Session) -> WebauthnChallenge | None:
            row = db.execute(stmt).scalar_one_or_none()
            if row is None or row.expires_at <= now:
                return None
            return WebauthnChallenge(row.challenge, row.username)

        return await self._run.write(work)
