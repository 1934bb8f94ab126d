"""filebay.config: what ``filebay config`` prints hides every secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from filebay.config import Settings
from filebay_server.cli import app

PASSWORDS = (
    "db-password-1",
    "s3-password-2",
    "service-token-3",
    "admin-password-4",
    "share-cookie-key-5",
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FILEBAY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(
        "FILEBAY_DATABASE_URL", f"postgresql+asyncpg://filebay:{PASSWORDS[0]}@db:5432/filebay"
    )
    monkeypatch.setenv("FILEBAY_S3_ENDPOINT", f"http://minio-user:{PASSWORDS[1]}@minio:9000")
    monkeypatch.setenv("FILEBAY_SERVICE_TOKEN", PASSWORDS[2])
    monkeypatch.setenv("FILEBAY_ADMIN_PASSWORD", PASSWORDS[3])
    monkeypatch.setenv("FILEBAY_SHARE_COOKIE_KEY", PASSWORDS[4])


def test_masked_settings_hide_secrets_and_url_passwords(env: None) -> None:
    masked = Settings().masked()
    text = json.dumps(masked, default=str)
    for secret in PASSWORDS:
        assert secret not in text
    assert masked["database_url"] == "postgresql+asyncpg://filebay:***@db:5432/filebay"
    assert masked["s3_endpoint"] == "http://minio-user:***@minio:9000"
    assert masked["service_token"] == "********"
    assert masked["share_cookie_key"] == "********"


def test_a_url_without_credentials_is_shown_as_it_is(
    env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FILEBAY_S3_ENDPOINT", "http://minio:9000")
    assert Settings().masked()["s3_endpoint"] == "http://minio:9000"


def test_filebay_config_prints_no_secret(env: None) -> None:
    for args in (["config"], ["config", "--json"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "minio" in result.output
        for secret in PASSWORDS:
            assert secret not in result.output
