"""The ``filebay`` client as a user runs it: a subprocess against a real server with logins on."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.harness.servers import Deployment, running

ADMIN_PASSWORD = "cli-admin-password-0123"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    env = {"FILEBAY_AUTH": "on", "FILEBAY_ADMIN_PASSWORD": ADMIN_PASSWORD}
    with running("all", tmp_path_factory.mktemp("cli-server"), env) as deployment:
        yield deployment


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
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            COLUMNS="200",
            **extra,
        )
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

    def http(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.server, headers=headers, timeout=30)


@pytest.fixture
def cli(tmp_path: Path, server: Deployment) -> Cli:
    (tmp_path / "home").mkdir()
    (tmp_path / "work").mkdir()
    return Cli(tmp_path / "home", tmp_path / "work", server.upload)


@pytest.fixture
def logged_in(cli: Cli) -> Cli:
    cli.login()
    return cli


def _random_file(path: Path, size: int) -> Path:
    with path.open("wb") as out:
        remaining = size
        while remaining:
            block = os.urandom(min(remaining, 4 * MIB))
            out.write(block)
            remaining -= len(block)
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _uploaded(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """name → id from the ``id<TAB>name`` lines ``filebay upload`` prints."""
    assert done.returncode == 0, done.stderr
    pairs = [line.split("\t", 1) for line in done.stdout.splitlines() if line]
    return {name: file_id for file_id, name in pairs}


def test_login_stores_a_private_token_and_logout_revokes_it(cli: Cli) -> None:
    cli.login()
    credentials = cli.config / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    data = json.loads(credentials.read_text())
    assert data["server"] == cli.server
    assert data["username"] == "admin"
    token = cli.token
    with cli.http() as http:
        assert http.get("/api/me").json()["username"] == "admin"
    assert cli("ls").returncode == 0

    done = cli("logout")
    assert done.returncode == 0, done.stderr
    assert not credentials.exists()
    me = httpx.get(f"{cli.server}/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401


def test_logging_in_again_revokes_the_previous_token(cli: Cli) -> None:
    cli.login()
    first = cli.token
    cli.login()
    assert cli.token != first
    me = httpx.get(f"{cli.server}/api/me", headers={"Authorization": f"Bearer {first}"})
    assert me.status_code == 401


def test_wrong_password_exits_3(cli: Cli) -> None:
    done = cli("login", "--server", cli.server, "-u", "admin", "--password", "nope-nope-nope")
    assert done.returncode == 3
    assert "wrong user name or password" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (cli.config / "credentials.json").exists()


def test_not_logged_in_exits_3(cli: Cli) -> None:
    done = cli("ls", "--server", cli.server)
    assert done.returncode == 3
    assert "HTTP 401" in done.stderr
    assert "Traceback" not in done.stderr


def test_environment_token_wins_over_the_stored_one(logged_in: Cli) -> None:
    assert logged_in("ls").returncode == 0
    assert logged_in("ls", FILEBAY_TOKEN="not-a-token").returncode == 3
    assert logged_in("ls", "--token", "not-a-token").returncode == 3


def test_unreachable_server_exits_1_with_one_line(logged_in: Cli) -> None:
    done = logged_in("ls", "--server", "http://127.0.0.1:9")
    assert done.returncode == 1
    assert "cannot reach http://127.0.0.1:9" in done.stderr
    assert "Traceback" not in done.stderr


def test_upload_several_files_with_progress_then_list_them(logged_in: Cli) -> None:
    work = logged_in.cwd
    files = [
        _random_file(work / "big.bin", 6 * MIB),
        _random_file(work / "Übersicht 2024.pdf", 1000),
        _random_file(work / "empty.txt", 0),
    ]
    done = logged_in(
        "upload",
        *[str(f) for f in files],
        "--chunk-size",
        "1",
        "--limit-rate",
        "12M",
        TTY_COMPATIBLE="1",  # a terminal, as far as Rich is concerned: live bars
    )
    ids = _uploaded(done)
    assert set(ids) == {f.name for f in files}
    # One bar per file and a total bar, redrawn as the bytes went out.
    assert done.stderr.count("total") >= 2
    for f in files:
        assert f.name in done.stderr
    assert "MB/s" in done.stderr

    listing = logged_in("ls", "--json", "--limit", "1000")
    assert listing.returncode == 0, listing.stderr
    records = {r["id"]: r for r in json.loads(listing.stdout)["items"]}
    for f in files:
        record = records[ids[f.name]]
        assert record["name"] == f.name
        assert record["size"] == f.stat().st_size
        assert record["sha256"] == _sha256(f)
        assert record["owner"] == "admin"
    assert records[ids["Übersicht 2024.pdf"]]["content_type"] == "application/pdf"

    # (ASCII letters in the query: SQLite's LIKE folds the case of ASCII only.)
    table = logged_in("ls", "--query", "BERSICHT")
    assert table.returncode == 0
    assert ids["Übersicht 2024.pdf"] in table.stdout
    assert ids["big.bin"] not in table.stdout


def test_ls_all_follows_the_cursor(logged_in: Cli) -> None:
    for n in range(3):
        (logged_in.cwd / f"page-{n}.txt").write_text(f"page {n}")
    _uploaded(logged_in("upload", *[f"page-{n}.txt" for n in range(3)]))
    one_page = json.loads(logged_in("ls", "--json", "--limit", "1", "--query", "page-").stdout)
    assert len(one_page["items"]) == 1 and one_page["next_cursor"]
    every = json.loads(
        logged_in(
            "ls", "--json", "--limit", "1", "--query", "page-", "--all", "--sort", "name"
        ).stdout
    )
    assert [r["name"] for r in every["items"]] == ["page-0.txt", "page-1.txt", "page-2.txt"]
    assert every["next_cursor"] is None


def test_get_resumes_a_partial_download_and_verifies_it(logged_in: Cli) -> None:
    source = _random_file(logged_in.cwd / "source.bin", 3 * MIB + 17)
    file_id = _uploaded(logged_in("upload", str(source)))["source.bin"]
    out = logged_in.cwd / "copy.bin"
    half = source.stat().st_size // 2
    Path(f"{out}.part").write_bytes(source.read_bytes()[:half])

    done = logged_in("get", file_id, "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert f"resumed at byte {half}" in done.stderr  # a 206: only the rest was fetched
    assert out.read_bytes() == source.read_bytes()
    assert not Path(f"{out}.part").exists()

    # Without -o: the record's name, in the current folder; an existing file is kept.
    (logged_in.cwd / "source.bin").unlink()
    assert logged_in("get", file_id).returncode == 0
    assert _sha256(logged_in.cwd / "source.bin") == _sha256(out)
    again = logged_in("get", file_id)
    assert again.returncode == 1
    assert "--force" in again.stderr
    assert logged_in("get", file_id, "--force").returncode == 0


def test_get_of_an_unknown_file_exits_1(logged_in: Cli) -> None:
    done = logged_in("get", "0123456789abcdef0123456789abcdef")
    assert done.returncode == 1
    assert "not found (HTTP 404)" in done.stderr
    assert list(logged_in.cwd.iterdir()) == []


def test_rename_and_rm(logged_in: Cli) -> None:
    (logged_in.cwd / "old.txt").write_text("words")
    file_id = _uploaded(logged_in("upload", "old.txt"))["old.txt"]

    done = logged_in("rename", file_id, "new name.txt")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{file_id}\tnew name.txt"
    with logged_in.http() as http:
        assert http.get(f"/api/files/{file_id}").json()["name"] == "new name.txt"

    done = logged_in("rm", file_id, "0123456789abcdef0123456789abcdef")
    assert done.returncode == 1  # the second id does not exist
    assert f"deleted {file_id}" in done.stderr
    assert "not found" in done.stderr
    with logged_in.http() as http:
        assert http.get(f"/api/files/{file_id}").status_code == 404
    assert logged_in("rename", file_id, "x").returncode == 1


def test_an_upload_killed_midway_resumes_in_a_new_process(logged_in: Cli) -> None:
    big = _random_file(logged_in.cwd / "huge.bin", 64 * MIB)
    state_file = logged_in.config / "uploads.json"
    with (logged_in.cwd / "first.log").open("w") as log:
        first = subprocess.Popen(
            logged_in.command("upload", str(big), "--chunk-size", "1", "--limit-rate", "8M"),
            env=logged_in.env(),
            cwd=logged_in.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    http = logged_in.http()
    tus = {"Tus-Resumable": "1.0.0"}
    try:
        url, offset = None, 0
        deadline = time.monotonic() + 60
        while offset < 8 * MIB:
            assert time.monotonic() < deadline, "the first upload made no progress"
            assert first.poll() is None, (logged_in.cwd / "first.log").read_text()
            time.sleep(0.1)
            try:
                url = json.loads(state_file.read_text())["uploads"][0]["url"]
            except (OSError, ValueError, LookupError):
                continue
            offset = int(http.head(url, headers=tus).headers.get("Upload-Offset", 0))
    finally:
        first.send_signal(signal.SIGKILL)  # no cleanup runs: like a crash or a closed laptop
        first.wait(10)
    assert url is not None
    kept = int(http.head(url, headers=tus).headers["Upload-Offset"])
    assert 8 * MIB <= kept < 64 * MIB

    second = logged_in("upload", str(big), "--chunk-size", "1")
    assert second.returncode == 0, second.stderr
    match = re.search(r"resuming at byte (\d+) of (\d+) \((\S+)\)", second.stderr)
    assert match, second.stderr
    assert int(match.group(1)) >= kept  # continued from the server's offset, not from 0
    assert match.group(3) == url  # the same tus upload
    file_id = url.rstrip("/").rsplit("/", 1)[1]
    assert _uploaded(second) == {"huge.bin": file_id}
    record = http.get(f"/api/files/{file_id}").json()
    assert record["size"] == 64 * MIB
    assert record["sha256"] == _sha256(big)
    assert not state_file.exists()  # nothing left to resume
    names = [r["name"] for r in http.get("/api/files", params={"q": "huge"}).json()["items"]]
    assert names == ["huge.bin"]  # one file, not a second copy
    http.close()
