"""POST /api/files and PUT /api/upload/{name}: records, hashes, types and cleaned names."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import subprocess
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.api.support import (
    Part,
    fresh_folder,
    multipart_body,
    multipart_type,
    raw_request,
    temp_files,
    tree,
)
from tests.harness.servers import Deployment

HEX64 = re.compile(r"[0-9a-f]{64}")
HEX32 = re.compile(r"[0-9a-f]{32}")
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(2000)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assert_record(record: dict, *, name: str, data: bytes, content_type: str) -> None:
    assert HEX32.fullmatch(record["id"])
    assert record["name"] == name
    assert record["size"] == len(data)
    assert record["sha256"] == sha(data)
    assert record["content_type"] == content_type
    assert record["owner"] == "admin"
    assert ISO_UTC.fullmatch(record["created_at"]), record["created_at"]
    assert ISO_UTC.fullmatch(record["updated_at"]), record["updated_at"]
    assert record["download_url"].endswith(f"/api/files/{record['id']}/content")
    assert "blob_key" not in record


def blob_paths(record_id: str) -> set[str]:
    """The entries one new blob may add to the data dir."""
    a, b = record_id[:2], record_id[2:4]
    return {f"blobs/{a}", f"blobs/{a}/{b}", f"blobs/{a}/{b}/{record_id}"}


def assert_only_blobs_added(
    deployment: Deployment, before: set[str], outside_before: set[str], ids: list[str]
) -> None:
    """The uploads wrote their blobs and nothing else, inside the data dir or next to it."""
    added = tree(deployment.data_dir) - before
    allowed = set().union(*(blob_paths(i) for i in ids))
    assert added <= allowed, f"unexpected files: {sorted(added - allowed)}"
    assert {f"blobs/{i[:2]}/{i[2:4]}/{i}" for i in ids} <= added | before
    assert tree(deployment.data_dir) >= before
    assert outside(deployment) == outside_before
    assert temp_files(deployment.data_dir) == []


def outside(deployment: Deployment) -> set[str]:
    """Everything next to the data dir (a traversal would land there)."""
    parent = deployment.data_dir.parent
    return {p for p in tree(parent) if not p.startswith(deployment.data_dir.name)}


def test_multipart_with_several_file_parts_answers_201_with_every_record(
    deployment: Deployment, http: httpx.Client
) -> None:
    tag = secrets.token_hex(4)
    text = f"notes {tag}\n".encode() * 100
    pdf = b"%PDF-1.4\n" + os.urandom(5000)
    csv = b"a,b\n1,2\n"
    files = [
        ("file", (f"report-{tag}.pdf", pdf, "application/pdf")),
        ("file", (f"notes-{tag}.txt", text, "text/plain")),
        ("file", (f"photo-{tag}.png", PNG, "image/png")),
        # A generic type says nothing: the server guesses from the name.
        ("file", (f"table-{tag}.csv", csv, "application/octet-stream")),
        ("file", (f"empty-{tag}.bin", b"", "application/octet-stream")),
    ]
    r = http.post(f"{deployment.upload}/api/files", files=files, data={"comment": "ignored"})
    assert r.status_code == 201, r.text
    records = r.json()["files"]
    assert len(records) == 5
    assert_record(records[0], name=f"report-{tag}.pdf", data=pdf, content_type="application/pdf")
    assert_record(records[1], name=f"notes-{tag}.txt", data=text, content_type="text/plain")
    assert_record(records[2], name=f"photo-{tag}.png", data=PNG, content_type="image/png")
    assert_record(records[3], name=f"table-{tag}.csv", data=csv, content_type="text/csv")
    assert_record(
        records[4], name=f"empty-{tag}.bin", data=b"", content_type="application/octet-stream"
    )
    assert len({rec["id"] for rec in records}) == 5
    for record, (_field, (_name, data, _ctype)) in zip(records, files, strict=True):
        got = http.get(f"{deployment.download}/api/files/{record['id']}/content")
        assert got.status_code == 200
        assert got.content == data
        assert http.get(f"{deployment.metadata}/api/files/{record['id']}").json() == record


def test_raw_put_answers_201_with_the_record(deployment: Deployment, http: httpx.Client) -> None:
    tag = secrets.token_hex(4)
    data = os.urandom(300_000)
    r = http.put(
        f"{deployment.upload}/api/upload/data-{tag}.bin",
        content=data,
        headers={"Content-Type": "application/x-custom"},
    )
    assert r.status_code == 201, r.text
    assert_record(r.json(), name=f"data-{tag}.bin", data=data, content_type="application/x-custom")


def test_raw_put_without_content_type_guesses_from_the_name(
    deployment: Deployment, http: httpx.Client
) -> None:
    r = http.put(f"{deployment.upload}/api/upload/page.html", content=b"<h1>hi</h1>")
    assert r.status_code == 201
    assert r.json()["content_type"] == "text/html"


def test_raw_put_of_a_chunked_body_without_length_is_stored_whole(
    deployment: Deployment, http: httpx.Client
) -> None:
    chunks = [os.urandom(100_000) for _ in range(7)]
    r = http.put(f"{deployment.upload}/api/upload/chunked.bin", content=iter(chunks))
    assert r.status_code == 201
    assert r.json()["size"] == 700_000
    assert r.json()["sha256"] == sha(b"".join(chunks))


def test_curl_upload_file_appends_the_file_name(
    deployment: Deployment, http: httpx.Client, tmp_path: Path
) -> None:
    tag = secrets.token_hex(4)
    path = tmp_path / f"curl upload {tag}.txt"
    data = os.urandom(50_000)
    path.write_bytes(data)
    out = subprocess.run(
        ["curl", "-sS", "--fail-with-body", "-T", str(path), f"{deployment.upload}/api/upload/"],
        capture_output=True,
        check=True,
        timeout=30,
    )
    record = json.loads(out.stdout)
    assert_record(record, name=path.name, data=data, content_type="text/plain")
    got = http.get(f"{deployment.download}/api/files/{record['id']}/content")
    assert got.content == data


def test_curl_upload_without_the_slash_is_told_what_is_missing(
    deployment: Deployment, tmp_path: Path
) -> None:
    """``/api/upload`` carries no name (curl appends it only after a '/'): a clear 400, not
    a bare 307 that curl does not follow while it exits 0 with nothing stored."""
    path = tmp_path / "no-slash.txt"
    path.write_bytes(b"no slash")
    out = subprocess.run(
        ["curl", "-sS", "-w", "\n%{http_code}", "-T", str(path), f"{deployment.upload}/api/upload"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    body, status = out.stdout.rsplit("\n", 1)
    assert status == "400"
    assert "/api/upload/" in json.loads(body)["detail"]


def test_unicode_name_in_the_put_path_is_kept(deployment: Deployment, http: httpx.Client) -> None:
    name = "résumé 日本語 ✓.txt"
    r = http.put(f"{deployment.upload}/api/upload/{quote(name)}", content=b"x")
    assert r.status_code == 201
    assert r.json()["name"] == name


# Raw multipart filename → stored name.
HOSTILE_FILENAMES: list[tuple[bytes, str]] = [
    (b"../../evil-up.txt", "evil-up.txt"),
    (b"/etc/passwd", "passwd"),
    (b"..\\\\..\\\\win-evil.txt", "win-evil.txt"),
    (b"C:\\\\Users\\\\me\\\\doc.txt", "doc.txt"),
    (b"dir/sub/deep.txt", "deep.txt"),
    (b"nul\x00byte.txt", "nulbyte.txt"),
    (b"ctl\x01\x07\x1b\x7fchars.txt", "ctlchars.txt"),
    (b"tab\there.txt", "tabhere.txt"),
    ("rtl\u202etxt.exe".encode(), "rtltxt.exe"),
    (b"..", "unnamed"),
    (b".", "unnamed"),
    (b"../", "unnamed"),
    (b"\x00\x01", "unnamed"),
    (b"   ", "unnamed"),
    (b"", "unnamed"),
]


def test_multipart_file_names_are_cleaned_and_never_become_paths(
    deployment: Deployment, http: httpx.Client
) -> None:
    folder = fresh_folder(deployment, http)
    before, around = tree(deployment.data_dir), outside(deployment)
    parts = [
        Part("file", f"body {i}".encode(), filename=raw, content_type="text/plain")
        for i, (raw, _clean) in enumerate(HOSTILE_FILENAMES)
    ]
    r = http.post(
        f"{deployment.upload}/api/files?folder_id={folder}",
        content=multipart_body(parts),
        headers={"Content-Type": multipart_type()},
    )
    assert r.status_code == 201, r.text
    records = r.json()["files"]
    # Names that clean to one name share the folder: the later ones are numbered (§8.1).
    expected, seen = [], 0
    for _raw, clean in HOSTILE_FILENAMES:
        if clean == "unnamed":
            expected.append("unnamed" if seen == 0 else f"unnamed ({seen})")
            seen += 1
        else:
            expected.append(clean)
    assert [rec["name"] for rec in records] == expected
    assert {rec["folder_id"] for rec in records} == {folder}
    for i, record in enumerate(records):
        got = http.get(f"{deployment.download}/api/files/{record['id']}/content")
        assert got.content == f"body {i}".encode()
    assert_only_blobs_added(deployment, before, around, [rec["id"] for rec in records])


# Raw request path (sent byte for byte) → stored name.
HOSTILE_PATHS: list[tuple[str, str]] = [
    ("%2e%2e%2f%2e%2e%2fevil-put.txt", "evil-put.txt"),
    ("..%2f..%2f..%2fetc%2fpasswd", "passwd"),
    ("../../literal-dots.txt", "literal-dots.txt"),
    ("..%5c..%5cwin-put.txt", "win-put.txt"),
    ("dir/sub/put.txt", "put.txt"),
    ("a%00b.txt", "ab.txt"),
    ("cr%0dlf%0aname.txt", "crlfname.txt"),
    ("bell%07%1b.txt", "bell.txt"),
    ("%2e%2e", "unnamed"),
    ("%2e%2e%2f", "unnamed"),
    ("%00", "unnamed"),
]


@pytest.mark.parametrize(("raw", "clean"), HOSTILE_PATHS)
def test_raw_put_names_are_cleaned_and_never_become_paths(
    deployment: Deployment, http: httpx.Client, raw: str, clean: str
) -> None:
    folder = fresh_folder(deployment, http)
    before, around = tree(deployment.data_dir), outside(deployment)
    r = raw_request(
        deployment.upload,
        "PUT",
        f"/api/upload/{raw}?folder_id={folder}",
        {"Content-Length": "5"},
        [b"hello"],
    )
    assert r.status == 201, r.body
    record = json.loads(r.body)
    assert record["name"] == clean
    # Slashes the client wrote are folders below the target; encoded ones are not.
    inside = raw.count("/") - raw.count("../")
    assert record["path"].count("/") == 2 + inside
    assert http.get(f"{deployment.download}/api/files/{record['id']}/content").content == b"hello"
    assert_only_blobs_added(deployment, before, around, [record["id"]])


@pytest.mark.parametrize("path", ["", "%2F", "sub/"])
def test_a_put_without_a_name_answers_400_and_stores_nothing(
    deployment: Deployment, http: httpx.Client, path: str
) -> None:
    before, around = tree(deployment.data_dir), outside(deployment)
    r = raw_request(
        deployment.upload, "PUT", f"/api/upload/{path}", {"Content-Length": "5"}, [b"hello"]
    )
    if path == "%2F":  # one name, "/", cleaned to nothing: stored as "unnamed" (§5)
        assert r.status == 201, r.body
        record = json.loads(r.body)
        http.delete(f"{deployment.metadata}/api/files/{record['id']}")
        return
    assert r.status == 400, r.body
    assert "no file name" in json.loads(r.body)["detail"]
    assert_only_blobs_added(deployment, before, around, [])


def test_long_names_are_truncated_to_255_bytes_keeping_the_extension(
    deployment: Deployment, http: httpx.Client
) -> None:
    ascii_name = "a" * 296 + ".txt"
    wide_name = "é" * 150 + ".tar.gz"  # 307 bytes; a cut must not split a character
    no_ext = "n" * 300
    for name in (ascii_name, wide_name, no_ext):
        assert len(name.encode()) >= 300
        folder = fresh_folder(deployment, http)
        put = http.put(
            f"{deployment.upload}/api/upload/{quote(name)}?folder_id={folder}", content=b"x"
        )
        post = http.post(
            f"{deployment.upload}/api/files?folder_id={fresh_folder(deployment, http)}",
            content=multipart_body([Part("file", b"x", filename=name.encode())]),
            headers={"Content-Type": multipart_type()},
        )
        assert put.status_code == 201
        assert post.status_code == 201
        for stored in (put.json()["name"], post.json()["files"][0]["name"]):
            assert len(stored.encode()) <= 255
            assert name.startswith(stored.rsplit(".", 1)[0][:100])
            if name is no_ext:
                assert stored == name.encode()[:255].decode()
            else:
                assert stored.endswith(".txt" if name is ascii_name else ".gz")
                assert len(stored.encode()) >= 250
