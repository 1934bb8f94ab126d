"""The ``filebay`` client as a user runs it: a subprocess against a real server with logins on."""

from __future__ import annotations

import json
import re
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from filebay.client import ApiError, Client
from filebay.client.tus import upload_offset
from tests.e2e.cli.support import MIB, Cli, random_file, sha256, uploaded


def _rejected(server: str, token: str) -> int:
    """The status ``/api/me`` answers with ``token`` (401 once it is revoked)."""
    with Client(server, token) as client, pytest.raises(ApiError) as caught:
        client.me()
    return caught.value.status


def test_login_stores_a_private_token_and_logout_revokes_it(cli: Cli) -> None:
    cli.login()
    credentials = cli.config / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    data = json.loads(credentials.read_text())
    assert data["server"] == cli.server
    assert data["username"] == "admin"
    token = cli.token
    with cli.client() as client:
        assert client.me()["username"] == "admin"
    assert cli("ls").returncode == 0

    done = cli("logout")
    assert done.returncode == 0, done.stderr
    assert not credentials.exists()
    assert _rejected(cli.server, token) == 401


def test_logging_in_again_revokes_the_previous_token(cli: Cli) -> None:
    cli.login()
    first = cli.token
    cli.login()
    assert cli.token != first
    assert _rejected(cli.server, first) == 401


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
        random_file(work / "big.bin", 6 * MIB),
        random_file(work / "Übersicht 2024.pdf", 1000),
        random_file(work / "empty.txt", 0),
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
    ids = uploaded(done)
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
        assert record["sha256"] == sha256(f)
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
    uploaded(logged_in("upload", *[f"page-{n}.txt" for n in range(3)]))
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
    source = random_file(logged_in.cwd / "source.bin", 3 * MIB + 17)
    file_id = uploaded(logged_in("upload", str(source)))["source.bin"]
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
    assert sha256(logged_in.cwd / "source.bin") == sha256(out)
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
    file_id = uploaded(logged_in("upload", "old.txt"))["old.txt"]

    done = logged_in("rename", file_id, "new name.txt")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{file_id}\tnew name.txt"
    with logged_in.client() as client:
        assert client.file(file_id)["name"] == "new name.txt"

    done = logged_in("rm", file_id, "0123456789abcdef0123456789abcdef")
    assert done.returncode == 1  # the second id does not exist
    assert f"deleted {file_id}" in done.stderr
    assert "not found" in done.stderr
    with logged_in.client() as client, pytest.raises(ApiError) as caught:
        client.file(file_id)
    assert caught.value.status == 404 and caught.value.code == "not_found"
    assert logged_in("rename", file_id, "x").returncode == 1


def test_an_upload_killed_midway_resumes_in_a_new_process(logged_in: Cli) -> None:
    big = random_file(logged_in.cwd / "huge.bin", 64 * MIB)
    state_file = logged_in.config / "uploads.json"
    with (logged_in.cwd / "first.log").open("w") as log:
        first = subprocess.Popen(
            logged_in.command("upload", str(big), "--chunk-size", "1", "--limit-rate", "8M"),
            env=logged_in.env(),
            cwd=logged_in.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    client = logged_in.client()
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
            offset = upload_offset(client.http, url)
    finally:
        first.send_signal(signal.SIGKILL)  # no cleanup runs: like a crash or a closed laptop
        first.wait(10)
    assert url is not None
    kept = upload_offset(client.http, url)
    assert 8 * MIB <= kept < 64 * MIB

    second = logged_in("upload", str(big), "--chunk-size", "1")
    assert second.returncode == 0, second.stderr
    match = re.search(r"resuming at byte (\d+) of (\d+) \((\S+)\)", second.stderr)
    assert match, second.stderr
    assert int(match.group(1)) >= kept  # continued from the server's offset, not from 0
    assert match.group(3) == url  # the same tus upload
    file_id = url.rstrip("/").rsplit("/", 1)[1]
    assert uploaded(second) == {"huge.bin": file_id}
    record = client.file(file_id)
    assert record["size"] == 64 * MIB
    assert record["sha256"] == sha256(big)
    assert not state_file.exists()  # nothing left to resume
    names = [r["name"] for r in client.iter_files(q="huge")]
    assert names == ["huge.bin"]  # one file, not a second copy
    client.close()
