"""The resume state file: (server, path, size, mtime, target) → upload URL."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from filebay.client.upload_state import MAX_AGE_SECONDS, FileKey, UploadState

SERVER = "http://files.test"


def _file(tmp_path: Path, content: bytes = b"hello") -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(content)
    return path


def test_put_get_remove(tmp_path: Path) -> None:
    state = UploadState(tmp_path / "state" / "uploads.json")
    key = FileKey.of(SERVER, _file(tmp_path))
    assert state.get(key) is None
    state.put(key, f"{SERVER}/api/tus/abc")
    assert state.get(key) == f"{SERVER}/api/tus/abc"
    assert stat.S_IMODE(state.path.stat().st_mode) == 0o600
    state.remove(key)
    assert state.get(key) is None
    assert not state.path.exists()


def test_key_is_absolute_path_size_and_mtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _file(tmp_path)
    monkeypatch.chdir(tmp_path)
    key = FileKey.of(SERVER, Path("data.bin"))
    assert key.path == str(path)
    assert key.size == 5
    assert key.mtime_ns == path.stat().st_mtime_ns


def test_a_changed_file_does_not_match(tmp_path: Path) -> None:
    state = UploadState(tmp_path / "uploads.json")
    path = _file(tmp_path)
    old = FileKey.of(SERVER, path)
    state.put(old, f"{SERVER}/api/tus/abc")
    os.utime(path, ns=(old.mtime_ns + 10**9, old.mtime_ns + 10**9))
    new = FileKey.of(SERVER, path)
    assert state.get(new) is None
    # Remembering the new version forgets the old one.
    state.put(new, f"{SERVER}/api/tus/def")
    assert state.get(old) is None
    assert len(json.loads(state.path.read_text())["uploads"]) == 1


def test_other_servers_and_files_are_separate(tmp_path: Path) -> None:
    state = UploadState(tmp_path / "uploads.json")
    path = _file(tmp_path)
    a, b = FileKey.of(SERVER, path), FileKey.of("http://other.test", path)
    state.put(a, "u-a")
    state.put(b, "u-b")
    assert (state.get(a), state.get(b)) == ("u-a", "u-b")
    state.remove(a)
    assert state.get(b) == "u-b"


def test_the_same_file_into_another_folder_is_another_upload(tmp_path: Path) -> None:
    state = UploadState(tmp_path / "uploads.json")
    path = _file(tmp_path)
    here, there = FileKey.of(SERVER, path, "folder-a"), FileKey.of(SERVER, path, "folder-b")
    state.put(here, "u-a")
    assert state.get(there) is None
    state.put(there, "u-b")
    assert (state.get(here), state.get(there)) == ("u-a", "u-b")
    assert state.get(FileKey.of(SERVER, path)) is None


def test_entries_written_before_targets_existed_still_resume(tmp_path: Path) -> None:
    state = UploadState(tmp_path / "uploads.json")
    key = FileKey.of(SERVER, _file(tmp_path))
    entry = {k: v for k, v in vars(key).items() if k != "target"}
    state.path.write_text(
        json.dumps({"version": 1, "uploads": [{**entry, "url": "u", "saved_at": time.time()}]})
    )
    assert state.get(key) == "u"


def test_old_entries_are_forgotten(tmp_path: Path) -> None:
    state = UploadState(tmp_path / "uploads.json")
    key = FileKey.of(SERVER, _file(tmp_path))
    state.put(key, "u")
    data = json.loads(state.path.read_text())
    data["uploads"][0]["saved_at"] = time.time() - MAX_AGE_SECONDS - 10
    state.path.write_text(json.dumps(data))
    assert state.get(key) is None


def test_a_damaged_state_file_is_ignored(tmp_path: Path) -> None:
    state = UploadState(tmp_path / "uploads.json")
    key = FileKey.of(SERVER, _file(tmp_path))
    for junk in ("", "[]", '{"version": 1, "uploads": 3}', '{"version": 99, "uploads": []}'):
        state.path.write_text(junk)
        assert state.get(key) is None
    state.put(key, "u")
    assert state.get(key) == "u"
