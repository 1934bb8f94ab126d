"""The one settings object. Nothing else in filebay reads ``os.environ``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from filebay import PROJECT_ROOT


class Service(StrEnum):
    """The services one process can run; ``all`` mounts every one of them."""

    all = "all"
    auth = "auth"
    upload = "upload"
    metadata = "metadata"
    download = "download"


DEFAULT_PORTS: dict[Service, int] = {
    Service.all: 8000,
    Service.upload: 8001,
    Service.metadata: 8002,
    Service.download: 8003,
    Service.auth: 8004,
}

GIB = 1024**3


class Settings(BaseSettings):
    """Effective configuration, from ``FILEBAY_*`` variables and CLI flags."""

    model_config = SettingsConfigDict(env_prefix="FILEBAY_", extra="ignore")

    data_dir: Path = Field(Path("uploads"), description="Blobs, the SQLite file and keys.")
    database_url: str | None = Field(
        None, description="SQLAlchemy async URL; default SQLite in the data dir."
    )
    storage: str = Field("local", description="Blob store backend: local or s3.")
    s3_bucket: str | None = Field(None, description="Bucket for FILEBAY_STORAGE=s3.")
    s3_endpoint: str | None = Field(
        None, description="S3 endpoint URL (MinIO, Ceph, Garage, R2); unset for AWS."
    )
    s3_region: str | None = Field(None, description="S3 region.")
    s3_prefix: str = Field("", description="Key prefix inside the bucket.")
    s3_part_size: int = Field(
        16 * 1024 * 1024, description="Multipart part size in bytes (5 MiB at least)."
    )
    s3_create_bucket: bool = Field(False, description="Create the bucket on start if missing.")
    s3_presign_downloads: bool = Field(
        False,
        description="Answer file downloads with a redirect (302) to a presigned URL of the "
        "bucket, so the bytes do not pass through the download service.",
    )
    s3_public_endpoint: str | None = Field(
        None,
        description="The S3 endpoint as browsers reach it, for presigned URLs "
        "(default: FILEBAY_S3_ENDPOINT).",
    )
    s3_presign_seconds: int = Field(300, description="How long a presigned URL stays valid.")
    max_upload_bytes: int = Field(100 * GIB, description="Largest accepted upload, in bytes.")
    auth: str = Field("on", description="'on' requires a login; 'off' acts as admin (loopback).")
    admin_password: SecretStr | None = Field(
        None, description="Password of the first 'admin' user; random and printed when unset."
    )
    jwt_private_key_file: Path | None = Field(
        None, description="Ed25519 PEM key that signs JWTs; generated in the data dir if unset."
    )
    auth_url: str | None = Field(None, description="Auth service base URL (split shape).")
    ui_url: str | None = Field(
        None, description="Base URL of the web UI (split shape), where login sends people back."
    )
    access_token_seconds: int = Field(900, description="Lifetime of a bearer JWT.")
    session_seconds: int = Field(12 * 3600, description="Lifetime of a browser session.")
    revocation_seconds: int = Field(
        30, description="How long a service trusts a checked session or token before asking again."
    )
    login_max_failures: int = Field(
        10, description="Failed logins per user from one client address per window."
    )
    login_max_failures_per_address: int = Field(
        50, description="Failed logins per client address per window."
    )
    login_max_failures_per_user: int = Field(
        100, description="Failed logins per user from all addresses together per window."
    )
    login_window_seconds: int = Field(900, description="The failed-login window.")
    hash_queue_max: int = Field(
        32,
        ge=1,
        description="Password checks queued or running in a process; past it logins answer 503.",
    )
    hash_queue_per_address: int = Field(
        4,
        ge=1,
        description="Password checks queued or running for one client address; past it 429.",
    )
    cookie_secure: bool = Field(False, description="Send cookies only over HTTPS.")
    public_url: str | None = Field(
        None,
        description="The address people reach filebay at (https://files.example.com): the "
        "base of the OIDC redirect URI when FILEBAY_AUTH_URL is unset.",
    )
    password_login: bool = Field(
        True, description="'off' hides and refuses password logins (API tokens still work)."
    )
    oidc_issuer: str | None = Field(
        None, description="OpenID Provider's issuer URL; set it to turn single sign-on on."
    )
    oidc_client_id: str | None = Field(None, description="filebay's client id at the provider.")
    oidc_client_secret: SecretStr | None = Field(
        None, description="filebay's client secret at the provider (none: a public client)."
    )
    oidc_name: str = Field("SSO", description="The provider's name on the login button.")
    oidc_scopes: str = Field("openid profile email", description="Scopes asked for.")
    oidc_username_claim: str = Field(
        "preferred_username", description="The claim that names a new user."
    )
    audit_days: int = Field(
        365, ge=1, description="Days the audit log keeps an event (the sweeper deletes older)."
    )
    require_mfa: Literal["off", "admins", "all"] = Field(
        "off",
        description="Who must set up two-step login (TOTP) before anything else: off, "
        "admins or all (password logins; single sign-on leaves MFA to the provider).",
    )
    oidc_admin_groups: str | None = Field(
        None,
        description="Comma list: members of these groups (claim 'groups') are admins, the "
        "others users, decided again at each login. Unset: roles are managed in filebay.",
    )
    i_know_this_is_public: bool = Field(
        False, description="Allow FILEBAY_AUTH=off on a non-loopback address."
    )
    host: str = "127.0.0.1"
    port: int | None = None
    service: Service = Service.all
    metadata_url: str | None = Field(None, description="Metadata service base URL (split shape).")
    metadata_internal_url: str | None = Field(
        None,
        description="How services reach the metadata service, where that differs from "
        "FILEBAY_METADATA_URL, the browser's (Compose: http://metadata:8002).",
    )
    auth_internal_url: str | None = Field(
        None,
        description="How services fetch the auth service's public keys, where that differs "
        "from FILEBAY_AUTH_URL, the browser's (Compose: http://auth:8004).",
    )
    download_url: str | None = Field(None, description="Public base URL of the download service.")
    service_token: SecretStr | None = Field(
        None, description="Shared secret between services; generated into the data dir if unset."
    )
    share_cookie_key: SecretStr | None = Field(
        None,
        description="Signs the cookies of share links (an unlocked password, a started "
        "download); generated into the data dir if unset. Every download replica needs the same.",
    )
    tus_expiry_seconds: int = Field(
        24 * 3600,
        description="An unfinished resumable upload expires this long after its last write.",
    )
    trash_days: int = Field(
        30,
        ge=0,
        le=36500,
        description="Deleted files and folders stay in the trash this many days (0: deleted "
        "at once, no trash).",
    )
    sweep_seconds: int = Field(
        300, description="How often the metadata service sweeps expired uploads and links."
    )
    orphan_sweep_seconds: int = Field(
        6 * 3600, description="How often the sweep also lists the blob store for orphans."
    )
    orphan_quarantine_seconds: int = Field(
        7 * 24 * 3600,
        ge=0,
        description="How long an orphan blob stays moved aside (restorable) before deletion.",
    )
    orphan_guard_ratio: float = Field(
        0.5,
        ge=0,
        le=1,
        description="No orphan is swept while the catalog has fewer records than this "
        "fraction of the store's blobs (a wrong or partial database).",
    )
    json_body_max_bytes: int = Field(
        1024 * 1024, description="Largest JSON or form body (uploads are not JSON)."
    )
    body_idle_seconds: float = Field(
        60.0, description="A request body that sends nothing for this long is cut off (408)."
    )
    header_timeout_seconds: float = Field(
        30.0, gt=0, description="A request's line and headers must arrive within this time."
    )
    max_header_bytes: int = Field(
        64 * 1024, gt=0, description="Largest request line and headers in bytes (431 above)."
    )
    max_header_count: int = Field(
        100, gt=0, description="Most header lines in one request (431 above)."
    )
    min_upload_rate: int = Field(
        1024, description="Bytes/s an upload must average over each rate window (408 below)."
    )
    min_upload_rate_window: float = Field(
        30.0, gt=0, description="Seconds over which FILEBAY_MIN_UPLOAD_RATE is averaged."
    )
    trust_proxy: str | None = Field(
        None,
        description="Proxy addresses whose X-Forwarded-* headers are trusted (comma list, '*').",
    )
    catalog_timeout: float = Field(10.0, description="Seconds before a metadata call fails.")
    temp_grace_seconds: int = Field(
        3600, description="Age after which fsck treats temp files and orphan blobs as stale."
    )
    thumbnail_max_pixels: int = Field(
        50_000_000, gt=0, description="Pictures with more pixels get no thumbnail (not decoded)."
    )
    thumbnail_timeout_seconds: float = Field(
        10.0, gt=0, description="A thumbnail renderer running longer is killed (then 404)."
    )
    thumbnail_concurrency: int = Field(
        2, gt=0, description="Thumbnails rendered at once per process (each a child process)."
    )
    thumbnail_memory_bytes: int = Field(
        1 * GIB, gt=0, description="Address-space cap of each thumbnail renderer process."
    )
    thumbnail_max_input_bytes: int = Field(
        256 * 1024 * 1024,
        gt=0,
        description="Larger pictures and PDFs get no thumbnail; larger videos are read this far.",
    )
    templates_dir: Path = PROJECT_ROOT / "templates"
    static_dir: Path = PROJECT_ROOT / "static"
    log_level: str = Field("info", description="debug, info, warning or error.")
    log_format: str = Field("text", description="text (readable) or json (one object a line).")

    @field_validator("database_url")
    @classmethod
    def _blank_is_default(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("share_cookie_key", mode="before")
    @classmethod
    def _blank_key_is_unset(cls, value: Any) -> Any:
        # An empty key would sign every cookie with nothing: generate one instead.
        return value or None

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORTS[self.service]

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'filebay.db').resolve()}"

    def resolved_service_token(self) -> str:
        """The service-to-service secret: configured, or kept in the (shared) data dir."""
        if self.service_token is not None:
            return self.service_token.get_secret_value()
        from filebay.secrets import load_or_create_secret

        return load_or_create_secret(self.data_dir / "service_token")

    def resolved_share_cookie_key(self) -> str:
        """The key of share-link cookies: configured, or kept in the (shared) data dir."""
        if self.share_cookie_key is not None:
            return self.share_cookie_key.get_secret_value()
        from filebay.secrets import load_or_create_secret

        return load_or_create_secret(self.data_dir / "share_cookie_key")

    def as_environment(self) -> dict[str, str]:
        """These settings as ``FILEBAY_*`` variables (for worker processes)."""
        return {
            f"FILEBAY_{name.upper()}": _env_value(getattr(self, name))
            for name in type(self).model_fields
            if getattr(self, name) is not None
        }

    def masked(self) -> dict[str, Any]:
        """Settings as printed by ``filebay config``: secrets and URL passwords hidden."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "********" if value.get_secret_value() else ""
            elif name == "database_url":
                value = mask_url_password(self.effective_database_url)
            elif isinstance(value, str) and "@" in value and "://" in value:
                # Any other URL may carry credentials too (an S3 endpoint, say).
                value = mask_url_password(value)
            elif isinstance(value, Path | StrEnum):
                value = str(value)
            out[name] = value
        out["port"] = self.effective_port
        return out


def _env_value(value: Any) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return str(value)


def mask_url_password(url: str) -> str:
    """Hide the password part of ``scheme://user:password@host/...``."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy understands: hide it all
        return "********"


DEFAULT_SERVER_URL = "http://127.0.0.1:8000"


class ClientSettings(BaseSettings):
    """The ``filebay`` command-line client: ``FILEBAY_URL`` and ``FILEBAY_TOKEN``.

    They sit between the command's flags and the credentials ``filebay login`` stored."""

    model_config = SettingsConfigDict(env_prefix="FILEBAY_", extra="ignore")

    url: str | None = Field(None, description="Server base URL, e.g. https://files.example.com.")
    token: SecretStr | None = Field(None, description="API token sent as a bearer token.")

    @field_validator("url", "token", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return value or None
