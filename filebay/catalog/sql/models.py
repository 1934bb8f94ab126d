"""SQLAlchemy tables. The schema itself is created and changed only by Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Index,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "pk": "pk_%(table_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        }
    )


class FileRow(Base):
    __tablename__ = "files"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(1024))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    blob_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # "" (ROOT): the top of the owner's tree. Not a foreign key: the root has no record.
    folder_id: Mapped[str] = mapped_column(String(32), default="")
    # CRC-32 of the bytes (zip entries); None for files recorded before it was kept.
    crc32: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The trash item this file went with (hidden everywhere but the trash); None: in place.
    trash_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)

    # Keyset pagination: every sort key, alone (admins), after the owner, and after the
    # owner and folder (a folder's items), ends in id.
    __table_args__ = (
        Index(None, "owner", "created_at", "id"),
        Index(None, "owner", "name", "id"),
        Index(None, "owner", "size", "id"),
        Index(None, "created_at", "id"),
        Index(None, "name", "id"),
        Index(None, "size", "id"),
        Index(None, "owner", "folder_id", "name", "id"),
        Index(None, "owner", "folder_id", "size", "id"),
        Index(None, "owner", "folder_id", "created_at", "id"),
        Index(None, "folder_id"),
    )


class FolderRow(Base):
    __tablename__ = "folders"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    trash_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)

    __table_args__ = (
        Index(None, "owner", "parent_id", "name", "id"),
        Index(None, "owner", "parent_id", "created_at", "id"),
        Index(None, "parent_id"),
    )


class NameRow(Base):
    """One row per entry (file or folder): its name's key in its folder. The primary key is
    what makes names unique per folder, for files and folders together, in the database."""

    __tablename__ = "entry_names"

    owner: Mapped[str] = mapped_column(String(64), primary_key=True)
    parent_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_key: Mapped[str] = mapped_column(String(1024), primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(32), unique=True)


class UserRow(Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    quota_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # How many files (and unfinished uploads) the user may hold; None: no limit.
    quota_files: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Sessions issued before this instant are void (password change, "log out everywhere").
    sessions_valid_after: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SessionRow(Base):
    __tablename__ = "sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # What the account page shows of it (DESIGN §8.4); None for sessions made before.
    user_agent: Mapped[str | None] = mapped_column(String(512), nullable=True)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class LoginFailureRow(Base):
    __tablename__ = "login_failures"

    # "pair:<name>|<client address>", "addr:<client address>" or "user:<name>"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())


class UploadRow(Base):
    """A resumable (tus) upload in progress; its id becomes the file id."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(1024))
    content_type: Mapped[str] = mapped_column(String(255))
    metadata_header: Mapped[str] = mapped_column(String(8192))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # A lease, not a connection-bound lock: it holds across replicas and expires if one dies.
    lock_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ShareRow(Base):
    """A link that lets someone without an account download one file."""

    __tablename__ = "shares"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    file_id: Mapped[str] = mapped_column(String(32), index=True)
    owner: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    max_downloads: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)
    # "file", or "folder" (then file_id holds the folder's id).
    kind: Mapped[str] = mapped_column(String(8), default="file")


class TrashRow(Base):
    """One delete: a file, or a folder with everything below it. Its entries keep their rows
    (``trash_id`` set) until the item is restored or purged."""

    __tablename__ = "trash"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    entry_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(1024))
    # Where it was: the folder id (``""``: the root) and its path then (for a restore).
    parent_id: Mapped[str] = mapped_column(String(32))
    original_path: Mapped[str] = mapped_column(String(8192))
    size: Mapped[int] = mapped_column(BigInteger)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index(None, "owner", "deleted_at", "id"),
        Index(None, "deleted_at"),
    )


class ZipLinkRow(Base):
    """A ``POST /api/zip`` selection, GET-able by its owner for 24 hours."""

    __tablename__ = "zip_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    selection: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class DeploymentRow(Base):
    """Facts about this deployment, written once (its identity, shared with the blob store)."""

    __tablename__ = "deployment"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OidcIdentityRow(Base):
    """A user's account at an OpenID Provider: the link is (issuer, sub), never a name or
    an e-mail address (DESIGN §8.4)."""

    __tablename__ = "oidc_identities"

    issuer: Mapped[str] = mapped_column(String(255), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OidcSignInRow(Base):
    """A sign-in sent to the provider and not yet back: good once, for a few minutes."""

    __tablename__ = "oidc_sign_ins"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    browser_hash: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next_url: Mapped[str] = mapped_column(String(2048))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class TotpRow(Base):
    """A user's TOTP secret (RFC 6238); on once ``confirmed_at`` is set. ``last_step`` is
    the time step of the last code accepted: a code is good once."""

    __tablename__ = "totp_secrets"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class RecoveryCodeRow(Base):
    """One of a user's recovery codes (Argon2id hash), good once."""

    __tablename__ = "recovery_codes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class MfaChallengeRow(Base):
    """A password login waiting for its second factor (the ``mfa_token``, stored hashed)."""

    __tablename__ = "mfa_challenges"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    browser: Mapped[bool] = mapped_column(Boolean)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class PasskeyRow(Base):
    """A WebAuthn credential of a user (discoverable, user verification required)."""

    __tablename__ = "passkeys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # base64url of the authenticator's credential id and its COSE public key
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[str] = mapped_column(String(2800))
    username: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255))
    sign_count: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class WebauthnChallengeRow(Base):
    """A WebAuthn ceremony under way, bound to its browser's cookie (its hash is the key)."""

    __tablename__ = "webauthn_challenges"

    browser_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    challenge: Mapped[str] = mapped_column(String(128))
    # None: a sign-in (the passkey names the user); else the user adding a passkey
    username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class AuditEventRow(Base):
    """One line of the audit log: append-only (only retention deletes), never a secret."""

    __tablename__ = "audit_events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    type: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(512), nullable=True)
    target: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Why a login failed (unknown user, wrong password, …): shown to admins only.
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)

    # Newest first, overall, per actor and per type (keyset pages end in id).
    __table_args__ = (
        Index(None, "at", "id"),
        Index(None, "actor", "at", "id"),
        Index(None, "type", "at", "id"),
    )
