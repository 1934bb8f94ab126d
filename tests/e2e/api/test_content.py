"""GET and HEAD /api/files/{id}/content: headers, Range, conditional requests, inline."""

from __future__ import annotations

import hashlib
import os
import subprocess
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote, unquote

import httpx
import pytest

from tests.harness.servers import Deployment

SIZE = 3 * 1024 * 1024 + 17  # several read chunks, not a round number
DATA = os.urandom(SIZE)


@pytest.fixture(scope="module")
def stored(deployment: Deployment) -> dict:
    r = httpx.put(
        f"{deployment.upload}/api/upload/blob.bin",
        content=DATA,
        headers={"Content-Type": "application/octet-stream"},
        timeout=60,
    )
    assert r.status_code == 201, r.text
    return r.json()


def content_url(deployment: Deployment, record: dict) -> str:
    return f"{deployment.download}/api/files/{record['id']}/content"


def put(deployment: Deployment, http: httpx.Client, name: str, data: bytes, ctype: str) -> dict:
    r = http.put(
        f"{deployment.upload}/api/upload/{quote(name)}",
        content=data,
        headers={"Content-Type": ctype},
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_get_answers_200_with_the_bytes_and_every_header(
    deployment: Deployment, http: httpx.Client, stored: dict
) -> None:
    r = http.get(content_url(deployment, stored))
    assert r.status_code == 200
    assert r.content == DATA
    h = r.headers
    assert h["content-length"] == str(SIZE)
    assert h["etag"] == f'"{hashlib.sha256(DATA).hexdigest()}"'
    assert h["etag"] == f'"{stored["sha256"]}"'
    created = datetime.fromisoformat(stored["created_at"])
    assert parsedate_to_datetime(h["last-modified"]) == created.replace(microsecond=0)
    assert h["last-modified"].endswith(" GMT")
    assert h["accept-ranges"] == "bytes"
    assert h["x-content-type-options"] == "nosniff"
    assert h["content-type"] == "application/octet-stream"
    assert (
        h["content-disposition"] == "attachment; filename=\"blob.bin\"; filename*=UTF-8''blob.bin"
    )
    assert "content-range" not in h


def test_head_answers_the_headers_without_a_body(
    deployment: Deployment, http: httpx.Client, stored: dict
) -> None:
    get = http.get(content_url(deployment, stored))
    head = http.head(content_url(deployment, stored))
    assert head.status_code == 200
    assert head.content == b""
    for name in ("content-length", "etag", "last-modified", "accept-ranges", "content-type"):
        assert head.headers[name] == get.headers[name]
    assert head.headers["content-disposition"] == get.headers["content-disposition"]
    ranged = http.head(content_url(deployment, stored), headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206
    assert ranged.headers["content-length"] == "10"
    assert ranged.headers["content-range"] == f"bytes 10-19/{SIZE}"
    assert ranged.content == b""


def test_unicode_name_gets_an_ascii_fallback_and_an_rfc8187_filename(
    deployment: Deployment, http: httpx.Client
) -> None:
    name = 'Résumé "final" 日本 ✓.pdf'
    record = put(deployment, http, name, b"%PDF-1.4", "application/pdf")
    r = http.get(content_url(deployment, record))
    disposition = r.headers["content-disposition"]
    kind, fallback, extended = (p.strip() for p in disposition.split(";"))
    assert kind == "attachment"
    assert fallback.startswith('filename="') and fallback.endswith('"')
    ascii_name = fallback[len('filename="') : -1]
    assert ascii_name.isascii()
    assert '"' not in ascii_name and "\\" not in ascii_name
    assert ascii_name.startswith("Resume")
    assert ascii_name.endswith(".pdf")
    assert extended.startswith("filename*=UTF-8''")
    encoded = extended[len("filename*=UTF-8''") :]
    assert encoded.isascii() and " " not in encoded and '"' not in encoded
    assert unquote(encoded) == name


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 100),
        ("bytes=100-", 100, SIZE),
        (f"bytes=1048570-{1048576 + 9}", 1048570, 1048586),  # across a read chunk
        (f"bytes={SIZE - 1}-{SIZE - 1}", SIZE - 1, SIZE),
        (f"bytes=5-{SIZE * 2}", 5, SIZE),  # end past the file is clipped
        ("bytes=-500", SIZE - 500, SIZE),
        (f"bytes=-{SIZE * 3}", 0, SIZE),  # suffix longer than the file: all of it
    ],
)
def test_single_range_answers_206_with_content_range(
    deployment: Deployment, http: httpx.Client, stored: dict, header: str, start: int, end: int
) -> None:
    r = http.get(content_url(deployment, stored), headers={"Range": header})
    assert r.status_code == 206
    assert r.content == DATA[start:end]
    assert r.headers["content-length"] == str(end - start)
    assert r.headers["content-range"] == f"bytes {start}-{end - 1}/{SIZE}"
    assert r.headers["etag"] == f'"{stored["sha256"]}"'
    assert r.headers["accept-ranges"] == "bytes"


@pytest.mark.parametrize(
    "header", [f"bytes={SIZE}-", f"bytes={SIZE + 100}-{SIZE + 200}", "bytes=-0"]
)
def test_unsatisfiable_range_answers_416_with_the_size(
    deployment: Deployment, http: httpx.Client, stored: dict, header: str
) -> None:
    r = http.get(content_url(deployment, stored), headers={"Range": header})
    assert r.status_code == 416
    assert r.headers["content-range"] == f"bytes */{SIZE}"
    head = http.head(content_url(deployment, stored), headers={"Range": header})
    assert head.status_code == 416
    assert head.headers["content-range"] == f"bytes */{SIZE}"


@pytest.mark.parametrize(
    "header",
    ["items=0-5", "bytes=0-5,10-20", "bytes=9-3", "bytes=abc", "bytes=-", "0-5", "x" * 5000],
)
def test_ranges_we_do_not_serve_answer_the_whole_file(
    deployment: Deployment, http: httpx.Client, stored: dict, header: str
) -> None:
    r = http.get(content_url(deployment, stored), headers={"Range": header})
    assert r.status_code == 200
    assert r.headers["content-length"] == str(SIZE)
    assert r.content == DATA


def test_range_on_an_empty_file(deployment: Deployment, http: httpx.Client) -> None:
    record = put(deployment, http, "empty.bin", b"", "application/octet-stream")
    whole = http.get(content_url(deployment, record))
    assert whole.status_code == 200
    assert whole.content == b""
    assert whole.headers["content-length"] == "0"
    first = http.get(content_url(deployment, record), headers={"Range": "bytes=0-"})
    assert first.status_code == 416
    assert first.headers["content-range"] == "bytes */0"
    # RFC 9110 §14.1.1: a non-zero suffix is the one satisfiable range of an empty file;
    # no 206 can carry zero bytes, so the answer is the whole (empty) file.
    suffix = http.get(content_url(deployment, record), headers={"Range": "bytes=-1"})
    assert suffix.status_code == 200
    assert suffix.content == b""


@pytest.mark.parametrize(
    "header_value",
    ["{etag}", "W/{etag}", '"other", {etag}', "*"],
)
def test_if_none_match_with_our_etag_answers_304(
    deployment: Deployment, http: httpx.Client, stored: dict, header_value: str
) -> None:
    etag = f'"{stored["sha256"]}"'
    r = http.get(
        content_url(deployment, stored),
        headers={"If-None-Match": header_value.format(etag=etag)},
    )
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == etag
    head = http.head(content_url(deployment, stored), headers={"If-None-Match": etag})
    assert head.status_code == 304


def test_if_none_match_with_another_etag_answers_200(
    deployment: Deployment, http: httpx.Client, stored: dict
) -> None:
    r = http.get(content_url(deployment, stored), headers={"If-None-Match": '"' + "0" * 64 + '"'})
    assert r.status_code == 200
    assert r.content == DATA


def test_if_match_and_if_unmodified_since_answer_412_when_the_file_is_another(
    deployment: Deployment, http: httpx.Client, stored: dict
) -> None:
    """A resuming client that names the file it had must not get another file's bytes."""
    url = content_url(deployment, stored)
    etag = f'"{stored["sha256"]}"'
    last_modified = http.head(url).headers["last-modified"]
    earlier = format_datetime(parsedate_to_datetime(last_modified) - timedelta(days=1), True)
    for headers in ({"If-Match": '"' + "e" * 64 + '"'}, {"If-Unmodified-Since": earlier}):
        for method in ("GET", "HEAD"):
            r = http.request(method, url, headers={**headers, "Range": "bytes=0-9"})
            assert r.status_code == 412, (headers, method)
            assert DATA[:10] not in r.content
        assert http.get(url, headers=headers).json()["code"] == "precondition_failed"
    for headers in ({"If-Match": etag}, {"If-Match": "*"}, {"If-Unmodified-Since": last_modified}):
        r = http.get(url, headers={**headers, "Range": "bytes=0-9"})
        assert r.status_code == 206 and r.content == DATA[:10], headers


def test_if_range_with_matching_etag_answers_206_else_200(
    deployment: Deployment, http: httpx.Client, stored: dict
) -> None:
    url = content_url(deployment, stored)
    etag = f'"{stored["sha256"]}"'
    r = http.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert r.status_code == 206
    assert r.content == DATA[:10]
    for other in ('"' + "f" * 64 + '"', f"W/{etag}", "garbage"):
        r = http.get(url, headers={"Range": "bytes=0-9", "If-Range": other})
        assert r.status_code == 200, other
        assert r.content == DATA
        assert "content-range" not in r.headers


def test_if_range_with_a_date_compares_last_modified(
    deployment: Deployment, http: httpx.Client, stored: dict
) -> None:
    url = content_url(deployment, stored)
    last_modified = http.head(url).headers["last-modified"]
    r = http.get(url, headers={"Range": "bytes=0-9", "If-Range": last_modified})
    assert r.status_code == 206
    earlier = parsedate_to_datetime(last_modified) - timedelta(days=1)
    r = http.get(
        url, headers={"Range": "bytes=0-9", "If-Range": format_datetime(earlier, usegmt=True)}
    )
    assert r.status_code == 200
    assert datetime.now(UTC) >= parsedate_to_datetime(last_modified)


@pytest.mark.parametrize(
    ("name", "ctype", "inline"),
    [
        ("pic.png", "image/png", True),
        ("notes.txt", "text/plain", True),
        ("doc.pdf", "application/pdf", True),
        ("page.html", "text/html", False),
        ("logo.svg", "image/svg+xml", False),
        ("page.xhtml", "application/xhtml+xml", False),
        ("app.js", "text/javascript", False),
        ("data.xml", "text/xml", False),
        ("blob.bin", "application/octet-stream", False),
    ],
)
def test_inline_only_for_types_that_cannot_run_script(
    deployment: Deployment, http: httpx.Client, name: str, ctype: str, inline: bool
) -> None:
    record = put(deployment, http, name, b"<script>alert(1)</script>", ctype)
    assert record["content_type"] == ctype
    plain = http.get(content_url(deployment, record))
    asked = http.get(content_url(deployment, record), params={"inline": "1"})
    assert plain.headers["content-disposition"].startswith("attachment;")
    expected = "inline;" if inline else "attachment;"
    assert asked.headers["content-disposition"].startswith(expected)
    for r in (plain, asked):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-type"] == ctype
        assert "sandbox" in r.headers["content-security-policy"]


def test_a_type_declared_with_parameters_is_still_judged_by_its_base_type(
    deployment: Deployment, http: httpx.Client
) -> None:
    record = put(deployment, http, "x.html", b"<b>hi</b>", "TEXT/HTML; charset=utf-8")
    r = http.get(content_url(deployment, record), params={"inline": "1"})
    assert r.headers["content-disposition"].startswith("attachment;")


def test_bad_inline_value_answers_400(
    deployment: Deployment, http: httpx.Client, stored: dict
) -> None:
    r = http.get(content_url(deployment, stored), params={"inline": "maybe"})
    assert r.status_code == 400


def test_curl_range_download_gets_the_first_100_bytes(
    deployment: Deployment, stored: dict, tmp_path: Path
) -> None:
    out = tmp_path / "part.bin"
    headers = tmp_path / "headers.txt"
    result = subprocess.run(
        [
            "curl", "-sS", "--fail", "-r", "0-99", "-D", str(headers), "-o", str(out),
            "-w", "%{http_code}", content_url(deployment, stored),
        ],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    assert result.stdout == "206"
    assert out.read_bytes() == DATA[:100]
    lines = headers.read_text().lower()
    assert f"content-range: bytes 0-99/{SIZE}" in lines


def test_curl_downloads_the_whole_file_under_its_name(
    deployment: Deployment, stored: dict, tmp_path: Path
) -> None:
    result = subprocess.run(
        ["curl", "-sS", "--fail", "-O", "-J", content_url(deployment, stored)],
        capture_output=True, cwd=tmp_path, check=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0
    assert (tmp_path / "blob.bin").read_bytes() == DATA


def test_a_record_whose_blob_is_gone_is_404_for_get_and_head(
    deployment: Deployment, http: httpx.Client
) -> None:
    record = put(deployment, http, "vanishing.txt", b"here today", "text/plain")
    empty = put(deployment, http, "vanishing-empty.txt", b"", "text/plain")
    for rec in (record, empty):
        url = content_url(deployment, rec)
        assert http.head(url).status_code == 200
        blob = next(deployment.data_dir.glob(f"blobs/*/*/{rec['id']}"))
        blob.unlink()  # lost behind the catalog's back (what fsck calls missing_blob)
        assert http.get(url).status_code == 404
        assert http.head(url).status_code == 404
