"""Where the client connects and with which token: flags, environment, stored credentials.

``filebay login`` stores ``{server, token, ...}`` in ``credentials.json`` in the user's config
dir (``$XDG_CONFIG_HOME/filebay`` or ``~/.config/filebay``), readable by the user only."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import typer

from filebay.client.errors import UsageError
from filebay.config import DEFAULT_SERVER_URL, ClientSettings

APP_NAME = "filebay"
CREDENTIALS_FILE = "credentials.json"


def config_dir() -> Path:
    """The client's config folder (it may not exist yet)."""
    return Path(typer.get_app_dir(APP_NAME))


def normalize_server(url: str) -> str:
    """``host:port`` → ``http://host:port``; no trailing slash, so paths join cleanly."""
    url = url.strip()
    if "://" not in url:
        url = f"http://{url}"
    scheme = url.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise UsageError(f"server URL must be http:// or https://, not {url!r}")
    return url.rstrip("/")


def write_private_json(path: Path, data: Any) -> None:
    """Replace ``path`` atomically with JSON readable and writable by the owner only.

    The temp file is created with mode 0600 (never a moment with looser rights), written,
    fsynced and renamed over the old file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)  # mkstemp already uses 0600; be explicit about the contract
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or ``None`` when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class Credentials:
    """What ``filebay login`` keeps: the server and an API token for it."""

    server: str
    token: str
    token_id: str | None = None
    token_name: str | None = None
    username: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> Credentials | None:
        if not isinstance(data, dict):
            return None
        server, token = data.get("server"), data.get("token")
        if not isinstance(server, str) or not isinstance(token, str) or not token:
            return None
        known = {k: str(data[k]) for k in ("token_id", "token_name", "username") if data.get(k)}
        try:
            return cls(server=normalize_server(server), token=token, **known)
        except UsageError:
            return None


def credentials_path(directory: Path | None = None) -> Path:
    return (directory or config_dir()) / CREDENTIALS_FILE


def load_credentials(directory: Path | None = None) -> Credentials | None:
    """The stored credentials, or ``None`` when there are none (or they are unreadable)."""
    return Credentials.from_json(read_json(credentials_path(directory)))


def save_credentials(credentials: Credentials, directory: Path | None = None) -> Path:
    path = credentials_path(directory)
    write_private_json(path, asdict(credentials))
    return path


def delete_credentials(directory: Path | None = None) -> bool:
    try:
        credentials_path(directory).unlink()
    except FileNotFoundError:
        return False
    return True


@dataclass(frozen=True)
class Connection:
    """The server to talk to and the token to send (``None``: send none)."""

    server: str
    token: str | None


def resolve_connection(
    server: str | None,
    token: str | None,
    settings: ClientSettings,
    stored: Credentials | None,
) -> Connection:
    """Flags win over ``FILEBAY_URL``/``FILEBAY_TOKEN``, which win over stored credentials.

    A stored token is only sent to the server it was issued by: ``--server other`` without
    a token must not hand the stored secret to another host."""
    if server:
        url = normalize_server(server)
    elif settings.url:
        url = normalize_server(settings.url)
    elif stored is not None:
        url = stored.server
    else:
        url = DEFAULT_SERVER_URL
    if token:
        secret: str | None = token
    elif settings.token is not None:
        secret = settings.token.get_secret_value()
    elif stored is not None and stored.server == url:
        secret = stored.token
    else:
        secret = None
    return Connection(url, secret)
