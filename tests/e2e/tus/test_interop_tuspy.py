"""tuspy (the tus project's Python client) against a real filebay, logins on."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tusclient.client import TusClient
from tusclient.uploader import Uploader

from tests.e2e.tus.support import Site, file_sha256, random_file, upload_id

CHUNK = 256 * 1024


class Sha256Uploader(Uploader):
    """tuspy sends ``Upload-Checksum: sha1 …`` by default; the algorithm is a class field."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


def _check_file(site: Site, url: str, path: Path, user: str, name: str, content_type: str) -> None:
    file_id = upload_id(url)
    record = site.record(file_id, user)
    assert record["sha256"] == file_sha256(path)
    assert record["size"] == path.stat().st_size
    assert record["name"] == name
    assert record["content_type"] == content_type
    assert record["owner"] == user
    assert site.content(file_id, user) == path.read_bytes()
    assert not site.staged(file_id).exists()


def test_upload_in_small_chunks_with_sha1_checksums(site: Site, tmp_path: Path) -> None:
    path = random_file(tmp_path / "three.bin", 3 * 1024 * 1024 + 12345)
    client = TusClient(site.endpoint, headers=site.headers("alice"))
    uploader = client.uploader(
        file_path=str(path),
        chunk_size=CHUNK,
        metadata={"filename": "three.bin", "filetype": "application/x-test"},
        upload_checksum=True,
    )
    assert uploader.checksum_algorithm_name == "sha1"
    uploader.upload()
    assert uploader.offset == path.stat().st_size
    assert uploader.url is not None and uploader.url.startswith(site.endpoint)
    _check_file(site, uploader.url, path, "alice", "three.bin", "application/x-test")


def test_resume_with_a_new_uploader_and_an_api_token(site: Site, tmp_path: Path) -> None:
    path = random_file(tmp_path / "resume.bin", 2 * 1024 * 1024 + 7)
    client = TusClient(site.endpoint, headers={"Authorization": f"Bearer {site.api_token('bob')}"})
    metadata = {"filename": "dir/../résumé.bin"}
    first = Sha256Uploader(
        file_path=str(path),
        client=client,
        chunk_size=CHUNK,
        metadata=metadata,
        upload_checksum=True,
    )
    for _ in range(3):
        first.upload_chunk()
    assert first.offset == 3 * CHUNK
    url = first.url
    assert url is not None
    assert site.offset(url, "bob") == 3 * CHUNK

    # A new uploader (as after a restart of the client) asks the server where to go on.
    second = Sha256Uploader(
        file_path=str(path), client=client, url=url, chunk_size=CHUNK, upload_checksum=True
    )
    assert second.offset == 3 * CHUNK
    second.upload()
    assert second.url == url
    assert second.offset == path.stat().st_size
    _check_file(site, url, path, "bob", "résumé.bin", "application/octet-stream")


def test_an_empty_file(site: Site, tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    uploader = TusClient(site.endpoint, headers=site.headers("alice")).uploader(
        file_path=str(path), metadata={"filename": "empty.txt"}
    )
    uploader.upload()
    _check_file(site, str(uploader.url), path, "alice", "empty.txt", "text/plain")
