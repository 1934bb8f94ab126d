"""Credentials file and the precedence of flags, environment and stored credentials."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from filebay.client.config import (
    Credentials,
    config_dir,
    delete_credentials,
    load_credentials,
    normalize_server,
    resolve_connection,
    save_credentials,
)
from filebay.client.errors import ClientError
from filebay.config import DEFAULT_SERVER_URL, ClientSettings

STORED = Credentials(server="http://stored.test:8000", token="stored-token", token_id="t1")


def test_credentials_file_is_private_and_round_trips(tmp_path: Path) -> None:
    path = save_credentials(STORED, tmp_path / "cfg")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_credentials(tmp_path / "cfg") == STORED
    assert json.loads(path.read_text())["token"] == "stored-token"


def test_credentials_replace_leaves_no_temp_files_and_stays_private(tmp_path: Path) -> None:
    save_credentials(STORED, tmp_path)
    (tmp_path / "credentials.json").chmod(0o644)
    path = save_credentials(Credentials(server="http://other.test", token="new"), tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["credentials.json"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_credentials(tmp_path)
    assert loaded is not None and loaded.token == "new"


def test_missing_or_damaged_credentials_read_as_none(tmp_path: Path) -> None:
    assert load_credentials(tmp_path) is None
    (tmp_path / "credentials.json").write_text("{not json")
    assert load_credentials(tmp_path) is None
    (tmp_path / "credentials.json").write_text('{"server": "http://x"}')
    assert load_credentials(tmp_path) is None
    assert delete_credentials(tmp_path)
    assert not delete_credentials(tmp_path)


def test_config_dir_follows_xdg_config_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config_dir() == tmp_path / "filebay"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://host:8000/", "http://host:8000"),
        ("host:8000", "http://host:8000"),
        ("https://files.example.com/base/", "https://files.example.com/base"),
    ],
)
def test_normalize_server(given: str, expected: str) -> None:
    assert normalize_server(given) == expected


def test_normalize_server_refuses_other_schemes() -> None:
    with pytest.raises(ClientError) as caught:
        normalize_server("ftp://host")
    assert caught.value.exit_code == 2


def test_flags_win_over_environment_and_stored() -> None:
    env = ClientSettings(url="http://env.test", token="env-token")
    conn = resolve_connection("http://flag.test", "flag-token", env, STORED)
    assert (conn.server, conn.token) == ("http://flag.test", "flag-token")


def test_environment_wins_over_stored() -> None:
    env = ClientSettings(url="http://env.test", token="env-token")
    conn = resolve_connection(None, None, env, STORED)
    assert (conn.server, conn.token) == ("http://env.test", "env-token")


def test_stored_credentials_are_the_fallback() -> None:
    conn = resolve_connection(None, None, ClientSettings(url=None, token=None), STORED)
    assert (conn.server, conn.token) == (STORED.server, STORED.token)


def test_default_server_without_anything() -> None:
    conn = resolve_connection(None, None, ClientSettings(url=None, token=None), None)
    assert (conn.server, conn.token) == (DEFAULT_SERVER_URL, None)


def test_stored_token_is_never_sent_to_another_server() -> None:
    conn = resolve_connection("http://elsewhere.test", None, ClientSettings(url=None), STORED)
    assert (conn.server, conn.token) == ("http://elsewhere.test", None)
    conn = resolve_connection(None, None, ClientSettings(url="http://env.test"), STORED)
    assert conn.token is None


def test_stored_token_is_used_when_the_flag_names_its_server() -> None:
    conn = resolve_connection("stored.test:8000/", None, ClientSettings(url=None), STORED)
    assert conn.token == "stored-token"


def test_client_settings_read_filebay_url_and_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FILEBAY_URL", "http://env.test")
    monkeypatch.setenv("FILEBAY_TOKEN", "secret")
    settings = ClientSettings()
    assert settings.url == "http://env.test"
    assert settings.token is not None and settings.token.get_secret_value() == "secret"
    assert "secret" not in repr(settings)
    monkeypatch.setenv("FILEBAY_TOKEN", "")
    assert ClientSettings().token is None
