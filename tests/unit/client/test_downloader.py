"""Downloads: safe local names, .part files, Range/If-Range resume, SHA-256 verification."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from filebay.client.downloader import Download, destination, part_path, safe_filename
from filebay.client.errors import ApiError, ClientError
from filebay.client.pacing import Backoff
from tests.unit.client.fakes import SERVER, FakeContent

SIZE = 300_000


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("a\\b\\c.txt", "c.txt"),
        ("/abs/path/x", "x"),
        ("bell\x07name\n.txt", "bellname.txt"),
        (" spaced ", "spaced"),
        ("日本語.txt", "日本語.txt"),
    ],
)
def test_safe_filename_keeps_only_the_last_segment(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


@pytest.mark.parametrize("name", ["..", ".", "", "dir/..", "a/", "\x00\x01"])
def test_safe_filename_refuses_names_that_are_not_files(name: str) -> None:
    with pytest.raises(ClientError, match="-o PATH"):
        safe_filename(name)


def test_destination(tmp_path: Path) -> None:
    assert destination("../x.bin", None) == Path("x.bin")
    assert destination("../x.bin", tmp_path) == tmp_path / "x.bin"
    assert destination("../x.bin", tmp_path / "y.bin") == tmp_path / "y.bin"
    assert part_path(tmp_path / "y.bin") == tmp_path / "y.bin.part"


@pytest.fixture
def content() -> FakeContent:
    return FakeContent(os.urandom(SIZE))


def _download(content: FakeContent, dest: Path, **kwargs: object) -> Download:
    client = httpx.Client(transport=content, base_url=SERVER)
    backoff = Backoff(sleep=lambda _s: None, attempts=3)
    return Download(client, content.record, dest, backoff=backoff, **kwargs)  # type: ignore[arg-type]


def test_fresh_download_lands_whole_without_part(tmp_path: Path, content: FakeContent) -> None:
    dest = tmp_path / "out.bin"
    done: list[int] = []
    result = _download(content, dest, progress=done.append).run()
    assert dest.read_bytes() == content.data
    assert not part_path(dest).exists()
    assert result.resumed_from == 0
    assert done[-1] == SIZE
    assert "Range" not in content.seen[0]
    assert content.seen[0]["Accept-Encoding"] == "identity"


def test_a_part_file_is_resumed_with_range_and_if_range(
    tmp_path: Path, content: FakeContent
) -> None:
    dest = tmp_path / "out.bin"
    part_path(dest).write_bytes(content.data[: SIZE // 2])
    result = _download(content, dest).run()
    assert dest.read_bytes() == content.data
    assert result.resumed_from == SIZE // 2
    assert content.seen[0]["Range"] == f"bytes={SIZE // 2}-"
    assert content.seen[0]["If-Range"] == f'"{content.sha256}"'


def test_a_200_answer_to_range_starts_over(tmp_path: Path, content: FakeContent) -> None:
    dest = tmp_path / "out.bin"
    part_path(dest).write_bytes(b"stale bytes of another version")
    content.faults = ["ignore-range"]
    result = _download(content, dest).run()
    assert dest.read_bytes() == content.data
    assert result.resumed_from == 0


def test_a_damaged_part_is_fetched_again_once(tmp_path: Path, content: FakeContent) -> None:
    dest = tmp_path / "out.bin"
    part_path(dest).write_bytes(os.urandom(SIZE // 2))
    logged: list[str] = []
    result = _download(content, dest, log=logged.append).run()
    assert dest.read_bytes() == content.data
    assert result.resumed_from == 0
    assert any("damaged" in m for m in logged)


def test_a_part_longer_than_the_file_is_dropped(tmp_path: Path, content: FakeContent) -> None:
    dest = tmp_path / "out.bin"
    part_path(dest).write_bytes(os.urandom(SIZE + 10))
    _download(content, dest).run()
    assert dest.read_bytes() == content.data


def test_a_cut_connection_resumes_with_range(tmp_path: Path, content: FakeContent) -> None:
    dest = tmp_path / "out.bin"
    content.faults = [("cut", 1000), 503, ("cut", 5000)]
    _download(content, dest).run()
    assert dest.read_bytes() == content.data
    assert [h.get("Range") for h in content.seen] == [
        None,
        "bytes=1000-",
        "bytes=1000-",
        "bytes=6000-",
    ]


def test_wrong_bytes_keep_nothing_and_fail(tmp_path: Path, content: FakeContent) -> None:
    dest = tmp_path / "out.bin"
    record_sha = content.sha256
    content.data = os.urandom(SIZE)  # the server now serves other bytes of the same size
    download = _download(content, dest)
    download.sha256 = record_sha
    content.sha256 = record_sha
    with pytest.raises(ClientError, match="nothing was kept"):
        download.run()
    assert not dest.exists()
    assert not part_path(dest).exists()


def test_server_errors_are_reported(tmp_path: Path, content: FakeContent) -> None:
    content.faults = [404]
    with pytest.raises(ApiError) as caught:
        _download(content, tmp_path / "out.bin").run()
    assert caught.value.status == 404


def test_endless_failures_give_up(tmp_path: Path, content: FakeContent) -> None:
    content.faults = [503] * 10
    with pytest.raises(ClientError, match="after 4 attempts"):
        _download(content, tmp_path / "out.bin").run()
