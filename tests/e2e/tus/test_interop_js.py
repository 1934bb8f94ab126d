"""tus-js-client (the tus project's JavaScript client, in Node) against a real filebay."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.tus import jsclient
from tests.e2e.tus.support import Site, file_sha256, random_file, upload_id

CHUNK = 512 * 1024


def _options(site: Site, path: Path, **extra: object) -> dict[str, object]:
    return {
        "file": str(path),
        "endpoint": site.endpoint,
        "headers": site.headers("alice"),
        "chunkSize": CHUNK,
        "metadata": {"filename": path.name, "filetype": "application/x-test"},
        **extra,
    }


def _check_file(site: Site, url: str, path: Path) -> None:
    file_id = upload_id(url)
    record = site.record(file_id)
    assert record["sha256"] == file_sha256(path)
    assert record["size"] == path.stat().st_size
    assert record["name"] == path.name
    assert record["content_type"] == "application/x-test"
    assert site.content(file_id) == path.read_bytes()


def test_upload_in_chunks(site: Site, tus_js: Path, tmp_path: Path) -> None:
    path = random_file(tmp_path / "js.bin", 3 * 1024 * 1024 + 99)
    events = jsclient.run(tus_js, _options(site, path))
    url = jsclient.last(events, "success")["url"]
    assert url.startswith(site.endpoint)
    assert jsclient.patch_offsets(events) == list(range(0, path.stat().st_size, CHUNK))
    _check_file(site, url, path)


def test_creation_with_upload(site: Site, tus_js: Path, tmp_path: Path) -> None:
    path = random_file(tmp_path / "js-cwu.bin", CHUNK + 1000)
    events = jsclient.run(tus_js, _options(site, path, uploadDataDuringCreation=True))
    methods = [e["method"] for e in events if e["event"] == "patch"]
    assert methods == ["POST", "PATCH"]
    _check_file(site, jsclient.last(events, "success")["url"], path)


def test_abort_then_resume_from_url_storage(site: Site, tus_js: Path, tmp_path: Path) -> None:
    """abort() after two chunks; a new process finds the upload again with
    findPreviousUploads() and goes on from the server's offset."""
    path = random_file(tmp_path / "js-abort.bin", 2 * 1024 * 1024 + 5)
    storage = tmp_path / "tus-urls.json"
    events = jsclient.run(tus_js, _options(site, path, urlStorage=str(storage), abortAt=2 * CHUNK))
    aborted = jsclient.last(events, "aborted")
    url = aborted["url"]
    assert aborted["accepted"] == 2 * CHUNK
    assert site.offset(url) == 2 * CHUNK

    events = jsclient.run(tus_js, _options(site, path, urlStorage=str(storage), resume=True))
    assert jsclient.last(events, "previous")["urls"] == [url]
    assert jsclient.last(events, "success")["url"] == url
    # It went on where the server was, and did not start over.
    assert jsclient.patch_offsets(events) == list(range(2 * CHUNK, path.stat().st_size, CHUNK))
    _check_file(site, url, path)


def test_resume_from_an_upload_url(site: Site, tus_js: Path, tmp_path: Path) -> None:
    path = random_file(tmp_path / "js-url.bin", 3 * CHUNK)
    events = jsclient.run(tus_js, _options(site, path, abortAt=CHUNK))
    url = jsclient.last(events, "aborted")["url"]
    events = jsclient.run(tus_js, _options(site, path, uploadUrl=url))
    assert jsclient.last(events, "success")["url"] == url
    assert jsclient.patch_offsets(events) == [CHUNK, 2 * CHUNK]
    _check_file(site, url, path)
