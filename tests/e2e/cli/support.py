"""The ``filebay`` client as a user runs it: a subprocess with its own home (config dir) and
working folder, against a real server with logins on; and the SDK to check what it did."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from filebay.client import Client
from tests.harness.http import refuse_500

ADMIN_PASSWORD = "cli-admin-password-0123"
MIB = 1024 * 1024


@dataclass
class Cli:
    """Runs ``python -m filebay_server`` with its own home (config dir) and working folder."""

    home: Path
    cwd: Path
    server: str

    @property
    def config(self) -> Path:
        return self.home / ".config" / "filebay"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FILEBAY_")}
        env.update(HOME=str(self.home), XDG_CONFIG_HOME=str(self.home / ".config"))
        env.update({"COLUMNS": "200", **extra})
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "filebay_server", *args]

    def __call__(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            env=self.env(**env),
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def login(self) -> None:
        done = self("login", "--server", self.server, "-u", "admin", "--password", ADMIN_PASSWORD)
        assert done.returncode == 0, done.stderr

    @property
    def token(self) -> str:
        return str(json.loads((self.config / "credentials.json").read_text())["token"])

    def client(self, token: str | None = None) -> Client:
        """The SDK as the logged-in user (or ``token``'s), failing the test on any 5xx."""
        return Client(self.server, token or self.token, on_response=refuse_500)


def random_file(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        remaining = size
        while remaining:
            block = os.urandom(min(remaining, 4 * MIB))
            out.write(block)
            remaining -= len(block)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def uploaded(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """name → id from the ``id<TAB>name`` lines ``filebay upload`` prints."""
    assert done.returncode == 0, done.stderr
    pairs = [line.split("\t", 1) for line in done.stdout.splitlines() if line]
    return {name: file_id for file_id, name in pairs}
