"""The upload loop against an in-process fake tus server that fails on request."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest

from filebay.client.errors import ApiError, ClientError
from filebay.client.pacing import Backoff
from filebay.client.upload_state import FileKey, UploadState
from filebay.client.uploader import PIECE_SIZE, FileUploader, UploadOptions
from tests.unit.client.fakes import SERVER, FakeTus

KIB = 1024
CHUNK = 64 * KIB


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.progress: list[int] = []
        self.messages: list[str] = []


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
def fake() -> FakeTus:
    return FakeTus()


@pytest.fixture
def state(tmp_path: Path) -> UploadState:
    return UploadState(tmp_path / "config" / "uploads.json")


def _uploader(
    fake: FakeTus, state: UploadState, rec: Recorder, chunk: int = CHUNK, attempts: int = 5
) -> FileUploader:
    client = httpx.Client(transport=fake)
    options = UploadOptions(
        chunk_size=chunk,
        piece_size=16 * KIB,
        backoff=Backoff(initial=0.5, maximum=4.0, attempts=attempts, sleep=rec.sleeps.append),
    )
    return FileUploader(client, SERVER, state, options, log=rec.messages.append)


def _file(tmp_path: Path, size: int, name: str = "data.bin") -> Path:
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path


def _stored(fake: FakeTus, file_id: str) -> dict[str, object]:
    return fake.records[file_id]


def _assert_whole(fake: FakeTus, path: Path, file_id: str) -> None:
    record = fake.records[file_id]
    assert record["size"] == path.stat().st_size
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_uploads_in_chunks_with_checksums_streamed_in_pieces(
    tmp_path: Path, fake: FakeTus, state: UploadState, rec: Recorder
) -> None:
    path = _file(tmp_path, 3 * CHUNK + 123, "report.pdf")
    result = _uploader(fake, state, rec).upload(path, rec.progress.append)
    _assert_whole(fake, path, result.file_id)
    assert result.name == "report.pdf"
    assert result.resumed_from == 0
    assert fake.records[result.file_id]["content_type"] == "application/pdf"
    patches = [s for s in fake.seen if s.method == "PATCH"]
    assert [int(s.headers["Upload-Offset"]) for s in patches] == [0, CHUNK, 2 * CHUNK, 3 * CHUNK]
    # Each body is streamed from the file in small pieces, never read whole.
    assert all(max(s.pieces) <= 16 * KIB for s in patches)
    assert rec.progress[-1] == path.stat().st_size
    assert rec.progress == sorted(rec.progress)
    assert not state.path.exists()  # the finished upload is forgotten
    assert rec.sleeps == []


def test_an_empty_file_needs_no_patch(
    tmp_path: Path, fake: FakeTus, state: UploadState, rec: Recorder
) -> None:
    path = _file(tmp_path, 0)
    result = _uploader(fake, state, rec).upload(path)
    _assert_whole(fake, path, result.file_id)
    assert fake.count("PATCH") == 0


def test_default_piece_size_is_256_kib() -> None:
    assert PIECE_SIZE == 256 * KIB


@pytest.mark.parametrize("status", [500, 503, 408, 423, 409])
def test_transient_answers_are_retried_after_asking_the_offset(
    tmp_path: Path, fake: FakeTus, state: UploadState, rec: Recorder, status: int
) -> None:
    path = _file(tmp_path, 3 * CHUNK)
    fake.fail("PATCH", None, status, status)
    result = _uploader(fake, state, rec).upload(path, rec.progress.append)
    _assert_whole(fake, path, result.file_id)
    assert fake.count("HEAD") == 2
    assert rec.sleeps == [0.5, 1.0]
    assert rec.progress[-1] == path.stat().st_size


def test_network_failure_mid_chunk_continues_from_the_servers_offset(
    tmp_path: Path, fake: FakeTus, state: UploadState, rec: Recorder
) -> None:
    path = _file(tmp_path, 3 * CHUNK)
    fake.fail("PATCH", None, ("cut", 1000))
    result = _uploader(fake, state, rec).upload(path, rec.progress.append)
    _assert_whole(fake, path, result.file_id)
    offsets = [int(s.headers["Upload-Offset"]) for s in fake.seen if s.method == "PATCH"]
    assert offsets[:3] == [0, CHUNK, CHUNK + 1000]  # the server kept 1000 bytes
    assert fake.count("POST") == 1


def test_connection_refused_then_back(
    tmp_path: Path, fake: FakeTus, state: UploadState, rec: Recorder
) -> None:
    path = _file(tmp_path, 2 * CHUNK)
    fake.fail("POST", "down", 502)
    fake.fail("PATCH", "down")
    fake.fail("HEAD", "down", "down")
    result = _uploader(fake, state, rec).upload(path)
    _assert_whole(fake, path, result.file_id)
    assert rec.sleeps == [0.5, 1.0, 0.5, 1.0, 2.0]  # the count restarts after progress


def test_checksum_mismatch_resends_the_chunk(
    tmp_path: Path, fake: FakeTus, state: UploadState, rec: Recorder
) -> None:
    path = _file(tmp_path, 2 * CHUNK)
    fake.fail("PATCH", "flip", "flip")
    result = _uploader(fake, state, rec).upload(path)
    _assert_whole(fake, path, result.file_id)
    offsets = [int(s.headers["Upload-Offset"]) for s in fake.seen if s.method == "PATCH"]
    assert offsets == [0, 0, 0, CHUNK]


def test_repeated_checksum_mismatch_fails_the_file(
    tmp_path: Path, fake: FakeTus, state: UploadState, rec: Recorder
) -> None:
    path = _file(tmp_path, CHUNK)
    fake.fail("PATCH", "flip", "flip", "flip")
    with pytest.raises(ClientError, match="Upload-Checksum"):
        _uploader(fake, state, rec).upload(path)


def test_gives_up_after_the_attempts_with_capped_backoff(
    tmp_path: Path, fake: FakeTus, state: UploadState, rec: Recorder
) -> None:
    path = _file(tmp_path, CHUNK)
    fake.fail("PATCH", *[500] * 10)
    with pytest.raises(ClientError, match="giving up after 6 failed attempts"):
        _uploader(fake, state, rec, attempts=5).upload(path)
    assert rec.sleeps == [0.5, 1.0, 2.0, 4.0, 4.0]
    # The upload is still remembered: a later run resumes it.
    assert state.get(FileKey.of(SERVER, path)) is not None


def test_a_fatal_answer_fails_at_once(
    tmp_path: Path, fake: FakeTus, state: UploadState, rec: Recorder
) -> None:
    path = _file(tmp_path, CHUNK)
    fake.fail("POST", 413)
    with pytest.raises(ApiError) as caught:
        _uploader(fake, state, rec).upload(path)
    assert caught.value.status == 413
    assert "injected 413" in caught.value.message
    assert rec.sleeps == []


def test_unauthorized_exits_with_3(
    tmp_path: Path, fake: FakeTus, state: UploadState, rec: Recorder
) -> None:
    fake.fail("POST", 401)
    with pytest.raises(ApiError) as caught:
        _uploader(fake, state, rec).upload(_file(tmp_path, 10))
    assert caught.value.exit_code == 3


def test_upload_gone_mid_way_starts_over(
    tmp_path: Path, fake: FakeTus, state: UploadState, rec: Recorder
) -> None:
    path = _file(tmp_path, 3 * CHUNK)
    fake.fail("PATCH", None, 410)
    result = _uploader(fake, state, rec).upload(path)
    _assert_whole(fake, path, result.file_id)
    assert fake.count("POST") == 2
    assert state.get(FileKey.of(SERVER, path)) is None


def test_resumes_a_remembered_upload_from_the_servers_offset(
    tmp_path: Path, fake: FakeTus, state: UploadState, rec: Recorder
) -> None:
    path = _file(tmp_path, 4 * CHUNK)
    fake.fail("PATCH", None, None, *[500] * 10)
    with pytest.raises(ClientError):
        _uploader(fake, state, rec, attempts=1).upload(path)
    url = state.get(FileKey.of(SERVER, path))
    assert url is not None
    fake.faults.clear()
    posts = fake.count("POST")
    # A new run (a new process) finds the state entry and asks the server where it was.
    result = _uploader(fake, state, Recorder()).upload(path)
    assert fake.count("POST") == posts
    assert result.url == url
    assert result.file_id == url.rsplit("/", 1)[1]
    assert result.resumed_from == 2 * CHUNK
    _assert_whole(fake, path, result.file_id)


def test_a_forgotten_remembered_upload_starts_over(
    tmp_path: Path, fake: FakeTus, state: UploadState, rec: Recorder
) -> None:
    path = _file(tmp_path, CHUNK)
    state.put(FileKey.of(SERVER, path), f"{SERVER}/api/tus/unknown")
    result = _uploader(fake, state, rec).upload(path)
    _assert_whole(fake, path, result.file_id)
    assert result.resumed_from == 0
    assert result.file_id != "unknown"


def test_a_finished_upload_left_in_the_state_is_not_sent_twice(
    tmp_path: Path, fake: FakeTus, state: UploadState, rec: Recorder
) -> None:
    path = _file(tmp_path, 2 * CHUNK)
    first = _uploader(fake, state, rec).upload(path)
    # As if the process died after the last PATCH, before forgetting the upload.
    state.put(FileKey.of(SERVER, path), first.url)
    second = _uploader(fake, state, rec).upload(path)
    assert second.file_id == first.file_id
    assert fake.count("POST") == 1
    assert len(fake.records) == 1


def test_a_changed_file_is_not_resumed(
    tmp_path: Path, fake: FakeTus, state: UploadState, rec: Recorder
) -> None:
    path = _file(tmp_path, 2 * CHUNK)
    state.put(FileKey.of(SERVER, path), f"{SERVER}/api/tus/old")
    path.write_bytes(os.urandom(2 * CHUNK + 1))
    _uploader(fake, state, rec).upload(path)
    assert not any(s.path.endswith("/old") for s in fake.seen)


def test_a_remembered_url_on_another_host_is_not_used(
    tmp_path: Path, fake: FakeTus, state: UploadState, rec: Recorder
) -> None:
    path = _file(tmp_path, CHUNK)
    state.put(FileKey.of(SERVER, path), "http://evil.test/api/tus/abc")
    result = _uploader(fake, state, rec).upload(path)
    assert result.file_id != "abc"
    assert fake.count("HEAD") == 0


def test_a_stored_copy_that_differs_is_deleted_and_fails(
    tmp_path: Path, fake: FakeTus, state: UploadState, rec: Recorder
) -> None:
    fake.corrupt_records = True
    with pytest.raises(ClientError, match="SHA-256"):
        _uploader(fake, state, rec).upload(_file(tmp_path, CHUNK))
    assert fake.records == {}
    assert fake.count("DELETE") == 1


def test_a_file_that_shrinks_while_uploading_fails(
    tmp_path: Path, fake: FakeTus, state: UploadState, rec: Recorder
) -> None:
    path = _file(tmp_path, 3 * CHUNK)

    def shrink(done: int) -> None:
        if done >= CHUNK:
            path.write_bytes(b"short")

    with pytest.raises(ClientError, match="shorter"):
        _uploader(fake, state, rec).upload(path, shrink)


def test_a_file_rewritten_while_uploading_fails_and_leaves_no_copy(
    tmp_path: Path, fake: FakeTus, state: UploadState, rec: Recorder
) -> None:
    path = _file(tmp_path, 3 * CHUNK)
    mtime = path.stat().st_mtime_ns

    def rewrite(done: int) -> None:
        if done == CHUNK:
            with path.open("r+b") as file:
                file.write(b"x" * 10)
            os.utime(path, ns=(mtime + 10**9, mtime + 10**9))

    with pytest.raises(ClientError, match="changed while it was being uploaded"):
        _uploader(fake, state, rec).upload(path, rewrite)
    assert fake.records == {}
